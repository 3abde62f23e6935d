/**
 * `cartographer uninstall`: removes Cartographer from a cluster in the one order that orphans nothing.
 *
 * 1. **Every Workspace, in the foreground**, then a wait until all are gone. The garbage collector removes a child only
 *    while it can resolve the child's owner, a Workspace: once the CRD is deleted the kind is gone and the children
 *    stay behind for good (which is what deleting the CRD first, or `kubectl delete -k install` alone, risks). If
 *    they are not all gone within `--timeout`, the command stops (exit 1) before deleting anything of the install;
 *    running it again continues.
 * 2. **Pool RBAC in other namespaces**, which cannot have an owner reference (`plan/rbac.ts`): the operator deletes it
 *    when it sees its Workspace go, but it may not be running.
 * 3. **What `install/` created**: the objects carrying the kustomization's label `app.kubernetes.io/part-of:
 *    cartographer` (and no Workspace's label), the operator's Deployment first so that it stops reconciling, the CRD,
 *    the RBAC, the namespace last, then a wait until they are gone.
 *
 * What holds data stays, as with a Workspace deleted on its own: each Workspace's database volume and its Secret
 * (the planner never gives them an owner, unless `deleteVolumeWithWorkspace`). A namespace of the install that holds
 * such data is kept too (deleting it would delete them); the command lists what it kept.
 */
import {
  type K8sError,
  Kinds,
  type KubeClientShape,
  type KubeObject,
  type Live,
  type ResourceKind,
  resourceKind,
} from "@cartographer/k8s"
import { labelKeys, managedBy } from "@cartographer/reconciler"
import { Duration, Effect, Result } from "effect"
import { kubeconfigOption, runWithClient } from "./Cluster.js"
import { formatDuration, help, type Options, parse, Text } from "./Options.js"

interface UninstallOptions {
  readonly kubeconfig: string | undefined
  readonly timeout: Duration.Duration
  readonly dryRun: boolean
}

export const defaults = {
  /** How long each wait (the Workspaces' children, then the install's objects) may take. */
  timeout: Duration.minutes(5),
  /** How often a wait looks again. */
  pollInterval: Duration.seconds(1),
} as const

const uninstallOptions: Options<UninstallOptions> = {
  kubeconfig: kubeconfigOption("kubeconfig (of a cluster administrator: it deletes cluster-wide objects)"),
  timeout: {
    flag: "timeout",
    metavar: "duration",
    schema: Text.duration,
    default: defaults.timeout,
    doc: "how long to wait for the Workspaces to be gone, and then for the install's objects",
  },
  dryRun: {
    flag: "dry-run",
    switch: true,
    schema: Text.boolean,
    default: false,
    doc: "list what would be deleted and kept, delete nothing",
  },
}

export const usage = `Usage: cartographer uninstall [options]

Removes Cartographer from the cluster without leaving anything it created behind: deletes every Workspace in the
foreground and waits until the garbage collector has removed their objects, then deletes what \`kubectl apply -k
install\` created (the operator, its RBAC, the Workspace CRD, its namespace). Each Workspace's database volume and its
Secret are kept; the command lists them.

Options:
${help(uninstallOptions)}

Exit codes: 0 uninstalled, 1 not finished within --timeout (run it again to continue), 2 an error.`

/** The label `install/kustomization.yaml` puts on everything it creates. */
export const installLabel = { key: "app.kubernetes.io/part-of", value: "cartographer" } as const

const installSelector = `${installLabel.key}=${installLabel.value},!${labelKeys.environment}`

const clusterScoped = (group: string, kind: string, plural: string) =>
  resourceKind({ group, version: "v1", kind, plural, namespaced: false })

const CustomResourceDefinition = clusterScoped(
  "apiextensions.k8s.io",
  "CustomResourceDefinition",
  "customresourcedefinitions",
)
const ClusterRole = clusterScoped("rbac.authorization.k8s.io", "ClusterRole", "clusterroles")
const ClusterRoleBinding = clusterScoped("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings")

/** The kinds `install/` creates, in the order they are deleted: the operator first, its namespace last. */
const installKinds: ReadonlyArray<ResourceKind> = [
  Kinds.Deployment,
  Kinds.Service,
  CustomResourceDefinition,
  ClusterRoleBinding,
  ClusterRole,
  Kinds.RoleBinding,
  Kinds.Role,
  Kinds.ServiceAccount,
  Kinds.Namespace,
]

/** `kind/namespace/name`, as the command prints objects. */
const describe = (kind: ResourceKind, object: Live<KubeObject>) =>
  `${kind.kind.toLowerCase()}/${object.metadata.namespace === undefined ? "" : `${object.metadata.namespace}/`}${object.metadata.name}`

type Report = (line: string) => void

/** Lists a kind; a kind the server does not serve (the CRD already deleted) has no objects. */
const listOrNone = (client: KubeClientShape, kind: ResourceKind, labelSelector?: string) =>
  client.list(kind, labelSelector === undefined ? {} : { labelSelector }).pipe(
    Effect.map((list) => list.items),
    Effect.catchReason("K8sError", "NotFound", () => Effect.succeed([] as ReadonlyArray<Live<KubeObject>>)),
  )

const remove = (
  client: KubeClientShape,
  kind: ResourceKind,
  object: Live<KubeObject>,
  propagationPolicy: "Foreground" | "Background",
) =>
  client
    .delete(
      kind,
      { name: object.metadata.name, namespace: object.metadata.namespace },
      { propagationPolicy, preconditions: { uid: object.metadata.uid } },
    )
    .pipe(
      Effect.asVoid,
      // Gone already, or replaced by a newer object of the same name (not the one listed): nothing to do.
      Effect.catchReason("K8sError", "NotFound", () => Effect.void),
      Effect.catchReason("K8sError", "Conflict", () => Effect.void),
    )

/** Waits until `remaining` finds nothing; what is left at the deadline, or an empty list. */
const waitUntilGone = <E>(
  remaining: Effect.Effect<ReadonlyArray<string>, E>,
  timeout: Duration.Duration,
): Effect.Effect<ReadonlyArray<string>, E> =>
  Effect.gen(function* () {
    const deadline = Date.now() + Duration.toMillis(timeout)
    for (;;) {
      const left = yield* remaining
      if (left.length === 0 || Date.now() >= deadline) return left
      yield* Effect.sleep(defaults.pollInterval)
    }
  })

/** What holds a Workspace's data and outlives it: its volumes and Secrets (the planner's labels). */
const retainedData = (client: KubeClientShape, namespace?: string) =>
  Effect.gen(function* () {
    const selector = `${labelKeys.managedBy}=${managedBy},${labelKeys.environment}`
    const found: Array<string> = []
    for (const kind of [Kinds.PersistentVolumeClaim, Kinds.Secret]) {
      const items = yield* client.list(kind, {
        labelSelector: selector,
        ...(namespace === undefined ? {} : { namespace }),
      })
      found.push(...items.items.filter((o) => o.metadata.deletionTimestamp === undefined).map((o) => describe(kind, o)))
    }
    return found
  })

type Outcome = "uninstalled" | "timed out"

const uninstall = (
  client: KubeClientShape,
  options: UninstallOptions,
  report: Report,
): Effect.Effect<Outcome, K8sError> =>
  Effect.gen(function* () {
    const verb = options.dryRun ? "would delete" : "deleting"

    // 1. The Workspaces, in the foreground: the garbage collector deletes their children before them.
    const workspaces = yield* listOrNone(client, Kinds.Workspace)
    for (const workspace of workspaces) {
      report(`${verb} ${describe(Kinds.Workspace, workspace)} (foreground: its objects first)`)
      if (!options.dryRun) yield* remove(client, Kinds.Workspace, workspace, "Foreground")
    }
    if (!options.dryRun && workspaces.length > 0) {
      const left = yield* waitUntilGone(
        listOrNone(client, Kinds.Workspace).pipe(
          Effect.map((items) =>
            items.map(
              (w) => `${describe(Kinds.Workspace, w)} (finalizers: ${(w.metadata.finalizers ?? []).join(", ")})`,
            ),
          ),
        ),
        options.timeout,
      )
      if (left.length > 0) {
        report(
          `not gone after ${formatDuration(options.timeout)}: ${left.join("; ")}. Nothing of the install was deleted ` +
            "(the Workspaces' objects need the CRD to be collected); run `cartographer uninstall` again to continue.",
        )
        return "timed out"
      }
      report(`${workspaces.length} Workspace(s) and their objects deleted`)
    }

    // 2. Pool RBAC outside the Workspaces' namespaces: no owner reference, so no garbage collection.
    for (const kind of [Kinds.RoleBinding, Kinds.Role]) {
      for (const object of yield* client
        .list(kind, { labelSelector: `${labelKeys.managedBy}=${managedBy},${labelKeys.workspaceNamespace}` })
        .pipe(Effect.map((l) => l.items))) {
        report(`${verb} ${describe(kind, object)} (a deleted Workspace's pool RBAC)`)
        if (!options.dryRun) yield* remove(client, kind, object, "Background")
      }
    }

    // 3. What install/ created; a namespace holding a Workspace's retained data stays.
    const deleted: Array<{ readonly kind: ResourceKind; readonly object: Live<KubeObject> }> = []
    for (const kind of installKinds) {
      for (const object of yield* listOrNone(client, kind, installSelector)) {
        if (kind === Kinds.Namespace) {
          const data = yield* retainedData(client, object.metadata.name)
          if (data.length > 0) {
            report(`keeping ${describe(kind, object)}: it holds retained Workspace data (${data.join(", ")})`)
            continue
          }
        }
        report(`${verb} ${describe(kind, object)}`)
        if (!options.dryRun) {
          yield* remove(client, kind, object, "Background")
          deleted.push({ kind, object })
        }
      }
    }
    const left = yield* waitUntilGone(
      Effect.forEach(deleted, ({ kind, object }) =>
        client.get(kind, { name: object.metadata.name, namespace: object.metadata.namespace }).pipe(
          Effect.map((live) => (live.metadata.uid === object.metadata.uid ? [describe(kind, object)] : [])),
          Effect.catchReason("K8sError", "NotFound", () => Effect.succeed([] as Array<string>)),
        ),
      ).pipe(Effect.map((found) => found.flat())),
      options.timeout,
    )
    if (left.length > 0) {
      report(`still terminating after ${formatDuration(options.timeout)}: ${left.join(", ")}`)
      return "timed out"
    }

    for (const data of yield* retainedData(client)) report(`kept ${data} (a Workspace's data)`)
    return "uninstalled"
  })

export interface UninstallIo {
  readonly write: (text: string) => void
  readonly error: (text: string) => void
}

export const runUninstall = async (argv: ReadonlyArray<string>, io: UninstallIo): Promise<number> => {
  const parsed = parse(uninstallOptions, argv)
  if (Result.isFailure(parsed)) {
    io.error(`cartographer uninstall: ${parsed.failure}\n\n${usage}\n`)
    return 2
  }
  if (parsed.success === "help") {
    io.write(`${usage}\n`)
    return 0
  }
  const options = parsed.success
  const outcome = await runWithClient(
    "uninstall",
    options.kubeconfig,
    (client) => uninstall(client, options, (line) => io.write(`${line}\n`)),
    io.error,
  )
  return outcome === undefined ? 2 : outcome === "uninstalled" ? 0 : 1
}
