/**
 * What to prune: for each kind the Workspace may have made, "everything of this Workspace not in the plan".
 *
 * Selectors are derived from the objects the plan applies, so a child can only be pruned because the plan no longer
 * produces it (a removed pool, Redis and the background services when `controllerReplicas` drops to 1, Postgres after
 * switching to an external database, an older migration Job, an Ingress or HTTPRoute taken out of the spec). Secrets and PersistentVolumeClaims are never selected: nothing that holds data is
 * pruned by a spec change.
 */

import type { PlanContext } from "./context.js"
import type { Labels, ManagedKind, ManagedObject } from "./kube.js"
import { labelKeys, ownershipLabels } from "./labels.js"
import type { PruneSelector } from "./Plan.js"

/** Kinds in the Workspace's namespace that may be pruned, with their apiVersion. */
const namespacedKinds: ReadonlyArray<readonly [string, ManagedKind]> = [
  ["apps/v1", "Deployment"],
  ["apps/v1", "StatefulSet"],
  ["v1", "Service"],
  ["batch/v1", "Job"],
  ["batch/v1", "CronJob"],
  ["v1", "ServiceAccount"],
  ["networking.k8s.io/v1", "NetworkPolicy"],
  ["networking.k8s.io/v1", "Ingress"],
  ["gateway.networking.k8s.io/v1", "HTTPRoute"],
  ["policy/v1", "PodDisruptionBudget"],
]

/** Pool RBAC, which may live in job namespaces. */
const rbacKinds: ReadonlyArray<readonly [string, ManagedKind]> = [
  ["rbac.authorization.k8s.io/v1", "Role"],
  ["rbac.authorization.k8s.io/v1", "RoleBinding"],
]

/** Kinds that hold data: refused by `pruneTargets` whatever a selector says. */
export const neverPruned: ReadonlySet<string> = new Set(["Secret", "PersistentVolumeClaim"])

const keepOf = (apply: ReadonlyArray<ManagedObject>, kind: ManagedKind, namespace: string): ReadonlyArray<string> =>
  apply
    .filter((object) => object.kind === kind && object.metadata.namespace === namespace)
    .map((object) => object.metadata.name)
    .sort()

export const pruneSelectors = (
  ctx: PlanContext,
  apply: ReadonlyArray<ManagedObject>,
  observedRbacNamespaces: ReadonlyArray<string>,
  /** Kinds whose objects are deleted with their pods left running (for a StatefulSet re-created around its pod). */
  orphaning: ReadonlyArray<ManagedKind> = [],
): ReadonlyArray<PruneSelector> => {
  const uid = ctx.owner?.uid
  const owned = (namespace: string) => (uid !== undefined && namespace === ctx.namespace ? { controllerUid: uid } : {})
  const base = ownershipLabels(ctx)
  const selectors: Array<PruneSelector> = namespacedKinds.map(([apiVersion, kind]) => ({
    apiVersion,
    kind,
    namespace: ctx.namespace,
    matchLabels: base,
    keep: keepOf(apply, kind, ctx.namespace),
    ...owned(ctx.namespace),
    ...(orphaning.includes(kind) ? { orphanDependents: true } : {}),
  }))
  const rbacNamespaces = new Set<string>([ctx.namespace, ...observedRbacNamespaces])
  for (const object of apply) if (object.kind === "Role") rbacNamespaces.add(object.metadata.namespace)
  const rbacLabels: Labels = { ...base, [labelKeys.workspaceNamespace]: ctx.namespace }
  for (const namespace of [...rbacNamespaces].sort()) {
    for (const [apiVersion, kind] of rbacKinds) {
      selectors.push({
        apiVersion,
        kind,
        namespace,
        matchLabels: rbacLabels,
        keep: keepOf(apply, kind, namespace),
        ...owned(namespace),
      })
    }
  }
  return selectors
}

/** An object that exists, as the engine lists it. */
export interface ExistingObject {
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly labels: Labels
  /** uid of its controller ownerReference, if any. */
  readonly controllerUid?: string
}

const matches = (selector: Labels, labels: Labels): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value)

/** The existing objects a plan's selectors prune (pure; the engine lists, this decides). */
export const pruneTargets = <O extends ExistingObject>(
  selectors: ReadonlyArray<PruneSelector>,
  existing: ReadonlyArray<O>,
): ReadonlyArray<O> =>
  existing.filter(
    (object) =>
      !neverPruned.has(object.kind) &&
      selectors.some(
        (selector) =>
          selector.kind === object.kind &&
          selector.namespace === object.namespace &&
          matches(selector.matchLabels, object.labels) &&
          !selector.keep.includes(object.name) &&
          (selector.controllerUid === undefined || selector.controllerUid === object.controllerUid),
      ),
  )
