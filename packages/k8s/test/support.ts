// Helpers for this package's integration tests against the real control plane from @cartographer/test.
import {
  type AuditFilter,
  adminUser,
  auditedRequests,
  effectSuite,
  eventually,
  namespacedTestCrd,
  sharedControlPlane,
  type TestKind,
} from "@cartographer/test/harness"
import { KubeConfig } from "@kubernetes/client-node"
import { Deferred, Effect, Layer, type Scope, Stream } from "effect"
import {
  type Access,
  type K8sError,
  KubeClient,
  type KubeClientOptions,
  type KubeObject,
  type Live,
  objectKey,
  type ResourceKind,
  Watch,
} from "../src/index.js"
import { resourceKind } from "../src/Kinds.js"

/** The admin client of the run's shared control plane. */
export const sharedClient: Layer.Layer<KubeClient, K8sError> = Layer.unwrap(
  Effect.sync(() => KubeClient.layer(sharedControlPlane().kubeConfig)),
)

/** The admin's requests (as the test's own client makes them) that `filter` matches, from the run's audit log. */
export const adminRequests = (filter: Omit<AuditFilter, "user">) =>
  Effect.promise(() => auditedRequests({ user: adminUser, ...filter }))

/** A suite of tests against the shared control plane, each handed the admin client (`sharedClient`). */
export const sharedClientSuite = effectSuite(KubeClient, sharedClient)

export interface Widget extends KubeObject {
  readonly spec?: { readonly size?: number; readonly color?: string; readonly tags?: ReadonlyArray<string> }
  readonly status?: { readonly observed?: number; readonly phase?: string }
}

/** A small namespaced test CRD with a status subresource (the Workspace CRD is generated elsewhere). */
export const Widgets = resourceKind<Widget>({
  group: "k8s.test.cartographer.dev",
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  namespaced: true,
})

export const CustomResourceDefinitions = resourceKind({
  group: "apiextensions.k8s.io",
  version: "v1",
  kind: "CustomResourceDefinition",
  plural: "customresourcedefinitions",
  namespaced: false,
})

/** A CRD with the Widget's schema for another namespaced kind (one a test installs and removes itself). */
export const widgetLikeCrd = (kind: TestKind) =>
  namespacedTestCrd(kind, {
    spec: {
      type: "object",
      properties: {
        size: { type: "integer", minimum: 0 },
        color: { type: "string" },
        tags: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "set" },
      },
    },
    status: { type: "object", properties: { observed: { type: "integer" }, phase: { type: "string" } } },
  })

const widgetCrd = widgetLikeCrd(Widgets)

/** Installs the Widget CRD (idempotent; never deleted: the control plane is thrown away) and waits until served. */
export const ensureWidgetCrd: Effect.Effect<void, K8sError | string, KubeClient> = Effect.gen(function* () {
  const client = yield* KubeClient
  yield* client.apply(CustomResourceDefinitions, widgetCrd, { fieldManager: "k8s-tests" })
  yield* eventually(
    Effect.gen(function* () {
      const crd = yield* client.get(CustomResourceDefinitions, { name: widgetCrd.metadata.name })
      const status = crd.status as { conditions?: ReadonlyArray<{ type: string; status: string }> } | undefined
      if (!status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) {
        return yield* Effect.fail("CRD not Established yet")
      }
      // Established can precede the endpoint being served for a moment.
      yield* client.list(Widgets, { namespace: "default" })
    }),
    "60 seconds",
  )
})

/** What a consumer of `Watch.watch` holds after applying every event in order: the stream's contract. */
export interface Mirror<A extends KubeObject> {
  /** The objects held, by `namespace/name`. */
  readonly objects: ReadonlyMap<string, Live<A>>
  /** Completes with the first SYNCED event. */
  readonly synced: Effect.Effect<void>
}

/** Applies the watch stream of `kind` to a map, in the background of the current scope. */
export const mirror = <A extends KubeObject, X extends Access>(
  kind: ResourceKind<A, X>,
  options: Watch.WatchOptions,
): Effect.Effect<Mirror<A>, never, KubeClient | Scope.Scope> =>
  Effect.gen(function* () {
    const objects = new Map<string, Live<A>>()
    const synced = yield* Deferred.make<void>()
    yield* Watch.watch(kind, options).pipe(
      Stream.runForEach((event) => {
        if (event.type === "SYNCED") return Deferred.succeed(synced, undefined)
        const key = objectKey(event.object.metadata)
        if (event.type === "DELETED") objects.delete(key)
        else objects.set(key, event.object)
        return Effect.void
      }),
      Effect.forkScoped,
    )
    return { objects, synced: Deferred.await(synced) }
  })

/** A kubeconfig for the shared API server with other credentials (or another server). */
export const kubeConfigWith = (options: { server?: string; token?: string; withCa?: boolean }) => {
  const { apiServerUrl, caFile, kubeConfig } = sharedControlPlane()
  const user = kubeConfig.getCurrentUser()
  const custom = new KubeConfig()
  custom.loadFromOptions({
    clusters: [
      {
        name: "test",
        server: options.server ?? apiServerUrl,
        skipTLSVerify: false,
        ...(options.withCa === false ? {} : { caFile }),
      },
    ],
    users: [
      options.token === undefined && user !== null
        ? { ...user, name: "test" }
        : { name: "test", token: options.token ?? "" },
    ],
    contexts: [{ name: "test", cluster: "test", user: "test" }],
    currentContext: "test",
  })
  return custom
}

/** Runs `effect` with a client of its own for `kubeConfig`. */
export const withClient = <A, E>(
  kubeConfig: KubeConfig,
  effect: Effect.Effect<A, E, KubeClient>,
  options: KubeClientOptions = {},
) => effect.pipe(Effect.provide(KubeClient.layer(kubeConfig, options)))
