// Helpers for the engine's integration tests against the run's real control plane. The engine always runs as the
// operator's ServiceAccount with the shipped ClusterRole (operatorIdentity); the test itself acts as admin.
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import {
  type K8sError,
  Kinds,
  KubeClient,
  type KubeClientShape,
  type KubeObject,
  type Live,
  type ResourceKind,
} from "@cartographer/k8s"
import type { Condition } from "@cartographer/schema"
import {
  auditedRequests,
  type ControlPlane,
  effectSuite,
  eventually,
  type OperatorIdentity,
  operatorIdentity,
  preboundVolume,
  type SuiteTest,
  sharedControlPlane,
  startControlPlane,
  useNamespace,
} from "@cartographer/test/harness"
import { Context, type Duration, Effect, Layer, type Scope } from "effect"
import { afterAll, beforeAll } from "vitest"
import { parse } from "yaml"
import { Engine } from "../../src/index.js"

/** The test's own client (system:masters), as a service distinct from the operator's `KubeClient`. */
export class Admin extends Context.Service<Admin, KubeClientShape>()("engine-test/Admin") {
  static readonly layer = Layer.effect(
    Admin,
    Effect.suspend(() =>
      Effect.gen(function* () {
        return yield* KubeClient
      }).pipe(Effect.provide(KubeClient.layer(sharedControlPlane().kubeConfig))),
    ),
  )
}

/**
 * The file's own namespace and the operator's identity in it (a ServiceAccount bound to the shipped ClusterRole),
 * created before the file's tests and removed after them.
 */
export const useOperatorNamespace = (
  prefix: string,
): { readonly namespace: string; readonly identity: () => OperatorIdentity } => {
  const namespace = useNamespace(prefix)
  let identity: OperatorIdentity | undefined
  beforeAll(async () => {
    identity = await operatorIdentity(namespace)
  })
  afterAll(() => identity?.remove())
  return {
    namespace,
    identity: () => {
      if (identity === undefined) throw new Error("the operator identity exists inside the file's tests only")
      return identity
    },
  }
}

/**
 * The mutating requests the operator's identity made since `since`, from the API server's audit log, once the log
 * holds every request completed before this call (`auditSettled`).
 */
export const operatorWrites = (identity: OperatorIdentity, since: Date) =>
  Effect.promise(() => auditedRequests({ user: identity.user, mutating: true, since }))

/** Whether pods run (tier `cluster`: controllers, scheduler and kwok); Ready=True needs them. */
export const podsRun = (): boolean => sharedControlPlane().tier !== "api"

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))

/** A sample Workspace from samples/, placed in `namespace` (and renamed when `name` is given). */
export const sample = (file: string, namespace: string, name?: string): KubeObject => {
  const document = parse(readFileSync(`${repoRoot}samples/${file}`, "utf8")) as KubeObject
  return {
    ...document,
    metadata: { ...document.metadata, namespace, ...(name === undefined ? {} : { name }) },
  }
}

/** `workspace` with `changes` laid over its `spec.workflows` (what a user's edit of a sample does). */
export const withWorkflows = (workspace: KubeObject, changes: Readonly<Record<string, unknown>>): KubeObject => ({
  ...workspace,
  spec: { workflows: { ...(workspace.spec as { workflows: Record<string, unknown> }).workflows, ...changes } },
})

/**
 * Starts the engine as the operator (watches now, workers once synced), for the rest of the scope. It watches the
 * identity's namespace only (unless told otherwise): suites share the control plane, and an engine reconciling
 * another suite's Workspaces would write in its name.
 */
export const startEngine = (
  identity: OperatorIdentity,
  options: Engine.EngineOptions = {},
): Effect.Effect<Engine.Engine, never, Scope.Scope> =>
  Effect.gen(function* () {
    const engine = yield* Engine.make({ concurrency: 4, namespaces: [identity.namespace], ...options }).pipe(
      Effect.provide(identity.layer),
      Effect.orDie,
    )
    yield* Effect.forkScoped(engine.run)
    yield* engine.synced
    return engine
  })

export const condition = (object: KubeObject | undefined, type: Condition["type"]): Condition | undefined =>
  ((object?.status as { conditions?: ReadonlyArray<Condition> } | undefined)?.conditions ?? []).find(
    (c) => c.type === type,
  )

/** The Workspace, failing (for `eventually`) until the engine has written a status for its current generation. */
export const statusCurrent = (ref: { readonly namespace: string; readonly name: string }) =>
  Effect.gen(function* () {
    const admin = yield* Admin
    const workspace = yield* admin.get(Kinds.Workspace, ref)
    const status = workspace.status as { observedGeneration?: number } | undefined
    if (status?.observedGeneration !== workspace.metadata.generation) return yield* Effect.fail("status not current")
    return workspace
  })

/** Succeeds once `effect` fails with NotFound (the object is gone), within `timeout`. */
export const gone = <A, R>(
  effect: Effect.Effect<A, { readonly reason: { readonly _tag: string } }, R>,
  timeout: Duration.Input = "90 seconds",
) =>
  eventually(
    effect.pipe(
      Effect.flip,
      Effect.filterOrFail((error) => error.reason._tag === "NotFound"),
    ),
    timeout,
  )

/** Fails (for `eventually`) until the Workspace's condition has this status. */
export const waitForCondition = (
  ref: { readonly namespace: string; readonly name: string },
  type: Condition["type"],
  status: Condition["status"],
  timeout: Duration.Input = "120 seconds",
) =>
  eventually(
    Effect.gen(function* () {
      const admin = yield* Admin
      const workspace = yield* admin.get(Kinds.Workspace, ref)
      const found = condition(workspace, type)
      if (found?.status !== status) {
        return yield* Effect.fail(`${type} is ${found?.status} (${found?.reason}: ${found?.message})`)
      }
      return workspace
    }),
    timeout,
  )

// The engine never touches PersistentVolumes, so `Kinds` does not list them.
const PersistentVolumes: ResourceKind = {
  group: "",
  version: "v1",
  apiVersion: "v1",
  kind: "PersistentVolume",
  plural: "persistentvolumes",
  namespaced: false,
}

/**
 * PersistentVolumes pre-bound to a Workspace's database claim and its backup claim: the test cluster has no provisioner
 * for kwok's nodes, and the scheduler does not place a pod whose claim is unbound. Deleted when the scope closes.
 */
export const provideVolume = (namespace: string, workspace: string) =>
  Effect.gen(function* () {
    const admin = yield* Admin
    for (const [suffix, claim] of [
      ["", `${workspace}-orion-database-pvc`],
      ["-backup", `${workspace}-orion-database-backup`],
    ] as const) {
      const name = `pv-${namespace}-${workspace}${suffix}`.slice(0, 253)
      const volume = preboundVolume({
        name,
        namespace,
        claim,
        path: `/tmp/${name}`,
        labels: { "cartographer.test/engine": "true" },
      })
      yield* admin.apply(PersistentVolumes, volume, { fieldManager: "engine-test" })
      yield* Effect.addFinalizer(() => admin.delete(PersistentVolumes, { name }).pipe(Effect.ignore))
    }
  }).pipe(Effect.orDie)

/** The children every Workspace of samples/basic-workspace.yaml named `name` has once planned, by kind. */
export const basicChildren = (name: string) =>
  [
    [Kinds.Secret, `${name}-environment-secrets`],
    [Kinds.PersistentVolumeClaim, `${name}-orion-database-pvc`],
    [Kinds.StatefulSet, `${name}-orion-database`],
    [Kinds.Service, `${name}-orion-database`],
    [Kinds.Service, `${name}-orion-server`],
    [Kinds.Deployment, `${name}-orion-server`],
    [Kinds.Deployment, `${name}-agent-default`],
    [Kinds.NetworkPolicy, `${name}-orion-database`],
  ] as const

/** A suite of engine tests: its namespace, the operator's identity in it, and the helpers bound to both. */
export interface EngineSuite {
  readonly namespace: string
  readonly identity: () => OperatorIdentity
  /** A sample Workspace from samples/ in the suite's namespace (renamed when `name` is given). */
  readonly sample: (file: string, name?: string) => KubeObject
  /** The engine as the operator, watching the suite's namespace, for the rest of the scope. */
  readonly startEngine: (options?: Engine.EngineOptions) => Effect.Effect<Engine.Engine, never, Scope.Scope>
  /** The operator's mutating requests since `since`, from the audit log. */
  readonly writesSince: (since: Date) => ReturnType<typeof operatorWrites>
  /** A volume for the database claim of Workspace `workspace`, deleted with the scope. */
  readonly provideVolume: (workspace: string) => ReturnType<typeof provideVolume>
  /** Fails (for `eventually`) until Workspace `name` has the condition with this status. */
  readonly waitForCondition: (
    name: string,
    type: Condition["type"],
    status: Condition["status"],
    timeout?: Duration.Input,
  ) => ReturnType<typeof waitForCondition>
  /** The suite's tests, each handed the test's own admin client (also `Admin`) and bounded by `timeout`. */
  readonly tests: (
    title: string,
    timeout: Duration.Input,
    tests: (test: SuiteTest<KubeClientShape, Admin>) => void,
  ) => void
  /** Applies a Workspace as the test (its own field manager, `engine-test`), answering what the server stored. */
  readonly apply: (workspace: KubeObject) => Effect.Effect<Live<KubeObject>, K8sError, Admin>
}

/** The preamble of an engine suite, written once: `engineSuite("engine-drift").tests("drift repair", ...)`. */
export const engineSuite = (prefix: string): EngineSuite => {
  const { namespace, identity } = useOperatorNamespace(prefix)
  return {
    namespace,
    identity,
    sample: (file, name) => sample(file, namespace, name),
    startEngine: (options) => startEngine(identity(), options),
    writesSince: (since) => operatorWrites(identity(), since),
    provideVolume: (workspace) => provideVolume(namespace, workspace),
    waitForCondition: (name, type, status, timeout) => waitForCondition({ namespace, name }, type, status, timeout),
    tests: effectSuite(Admin, Admin.layer),
    apply: (workspace) =>
      Admin.use((admin) => admin.apply(Kinds.Workspace, workspace, { fieldManager: "engine-test" })),
  }
}

const workspaceCrd = `${repoRoot}install/crd/workspaces.mlops.aigency.com.yaml`

/**
 * A PRIVATE control plane (tier api: no pods) for a suite that must disturb or shape the whole cluster (restart its
 * API server, leave a CRD out), with one namespace and the operator's identity in it.
 */
export class PrivateCluster extends Context.Service<
  PrivateCluster,
  { readonly controlPlane: ControlPlane; readonly namespace: string; readonly identity: OperatorIdentity }
>()("engine-test/PrivateCluster") {}

/** `PrivateCluster` and an admin `KubeClient` for it, started for the suite and stopped after it. */
export const privateCluster = (namespace: string) =>
  Layer.provideMerge(
    Layer.unwrap(PrivateCluster.use(({ controlPlane }) => Effect.succeed(KubeClient.layer(controlPlane.kubeConfig)))),
    Layer.effect(
      PrivateCluster,
      Effect.acquireRelease(
        Effect.promise(async () => {
          const controlPlane = await startControlPlane({ tier: "api", crds: [workspaceCrd] })
          try {
            const { CoreV1Api } = await import("@kubernetes/client-node")
            await controlPlane.kubeConfig
              .makeApiClient(CoreV1Api)
              .createNamespace({ body: { metadata: { name: namespace } } })
            const identity = await operatorIdentity(namespace, { access: controlPlane })
            return { controlPlane, namespace, identity }
          } catch (error) {
            await controlPlane.stop()
            throw error
          }
        }),
        ({ controlPlane }) => Effect.promise(() => controlPlane.stop()),
      ),
    ),
  )
