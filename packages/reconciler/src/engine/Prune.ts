/**
 * Pruning: deleting what the plan's selectors match and the plan no longer produces (never Secrets or volumes,
 * `plan/prune.ts` decides), with the object's uid as a precondition so that a re-created object of the same name
 * is never deleted by mistake. And, once a Workspace is gone, deleting its pool RBAC in other namespaces, which no
 * owner reference can take with it.
 */
import { type K8sError, Kinds, type KubeClientShape, type KubeObject, type Live } from "@cartographer/k8s"
import { Effect } from "effect"
import type { ManagedKind } from "../plan/kube.js"
import { labelKeys, managedBy } from "../plan/labels.js"
import type { PruneSelector } from "../plan/Plan.js"
import { type ExistingObject, pruneTargets } from "../plan/prune.js"
import type { Write } from "./Faults.js"
import type { View } from "./Gather.js"
import { describeObject, managedKinds } from "./ManagedKinds.js"
import { controllerUidOf } from "./Observe.js"
import type { OwnWrites } from "./OwnWrites.js"
import { type ChildRejected, classify, ReconcileError } from "./ReconcileError.js"

/** What pruning did. */
export interface PruneReport {
  readonly deleted: boolean
  /** Deletions the API server refused for good. */
  readonly rejected: ReadonlyArray<ChildRejected>
}

export interface PruneContext {
  readonly client: KubeClientShape
  readonly view: View
  readonly ownWrites: OwnWrites
  /** Runs after each accepted write (the engine's fault hook). */
  readonly wrote: (write: Write) => Effect.Effect<void>
}

/** `namespace/name` of a Workspace key, split. */
export const workspaceRef = (key: string): { readonly namespace: string; readonly name: string } => {
  const slash = key.indexOf("/")
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) }
}

export const makePrune = (ctx: PruneContext) => {
  const { client, view, ownWrites } = ctx

  /**
   * Deletes one object unless it is gone or was replaced (uid precondition); `true` when this deleted it. `orphan`
   * leaves what it controls running (see `PruneSelector.orphanDependents`).
   */
  const deleteOne = (
    key: string,
    kind: ManagedKind,
    object: Live<KubeObject>,
    orphan = false,
  ): Effect.Effect<boolean, K8sError> =>
    client
      .delete(managedKinds[kind], object.metadata, {
        preconditions: { uid: object.metadata.uid },
        ...(orphan ? { propagationPolicy: "Orphan" as const } : {}),
      })
      .pipe(
        Effect.as(true),
        Effect.catchReason("K8sError", "NotFound", () => Effect.succeed(false)),
        Effect.catchReason("K8sError", "Conflict", () => Effect.succeed(false)),
        Effect.tap((deleted) =>
          deleted
            ? Effect.suspend(() => {
                ownWrites.recordDelete(kind, object)
                return ctx.wrote({
                  key,
                  verb: "delete",
                  kind,
                  namespace: object.metadata.namespace ?? "",
                  name: object.metadata.name,
                })
              })
            : Effect.void,
        ),
      )

  /** Deletes what the plan no longer wants of the Workspace `key`. */
  const prune = (key: string, selectors: ReadonlyArray<PruneSelector>): Effect.Effect<PruneReport, ReconcileError> =>
    Effect.gen(function* () {
      const existing: Array<ExistingObject & { readonly live: Live<KubeObject>; readonly managedKind: ManagedKind }> =
        []
      for (const managedKind of new Set(selectors.map((s) => s.kind))) {
        for (const live of view.owned(managedKind, key)) {
          if (live.metadata.deletionTimestamp !== undefined) continue
          const controllerUid = controllerUidOf(live)
          existing.push({
            kind: managedKind,
            namespace: live.metadata.namespace ?? "",
            name: live.metadata.name,
            labels: live.metadata.labels ?? {},
            ...(controllerUid === undefined ? {} : { controllerUid }),
            live,
            managedKind,
          })
        }
      }
      let deleted = false
      const rejected: Array<ChildRejected> = []
      for (const target of pruneTargets(selectors, existing)) {
        const orphan = selectors.some((s) => s.kind === target.managedKind && s.orphanDependents === true)
        const outcome = yield* deleteOne(key, target.managedKind, target.live, orphan).pipe(
          Effect.catch((error: K8sError) => {
            const reason = classify(key, describeObject(target.live), error)
            return reason._tag === "ChildRejected"
              ? Effect.succeed(reason)
              : Effect.fail(new ReconcileError({ reason }))
          }),
        )
        if (outcome === true) deleted = true
        else if (outcome !== false) rejected.push(outcome)
      }
      return { deleted, rejected }
    })

  /**
   * The Workspace `key` is gone: its children in its namespace go with it (owner references), but pool RBAC in other
   * namespaces cannot have an owner reference. Delete what carries its labels there, after confirming with the API
   * server that the Workspace really is gone (a lagging cache must never cost a live Workspace its RBAC).
   */
  const cleanup = (key: string): Effect.Effect<void, ReconcileError> =>
    Effect.gen(function* () {
      const { namespace, name } = workspaceRef(key)
      const orphans = (["Role", "RoleBinding"] as const).flatMap((kind) =>
        view
          .owned(kind, key)
          .filter(
            (object) =>
              object.metadata.namespace !== namespace &&
              controllerUidOf(object) === undefined &&
              object.metadata.labels?.[labelKeys.managedBy] === managedBy &&
              object.metadata.labels?.[labelKeys.environment] === name &&
              object.metadata.labels?.[labelKeys.workspaceNamespace] === namespace,
          )
          .map((object) => ({ kind, object })),
      )
      if (orphans.length > 0) {
        const gone = yield* client.get(Kinds.Workspace, { namespace, name }).pipe(
          Effect.as(false),
          Effect.catchReason("K8sError", "NotFound", () => Effect.succeed(true)),
          Effect.mapError((error) => new ReconcileError({ reason: classify(key, "Workspace", error) })),
        )
        if (!gone) return
        for (const { kind, object } of orphans) {
          yield* deleteOne(key, kind, object).pipe(
            Effect.mapError((error) => new ReconcileError({ reason: classify(key, describeObject(object), error) })),
          )
        }
      }
      ownWrites.forgetOwner(key)
    })

  return { prune, cleanup }
}
