// How every reason of K8sError arises from a real API server (and from no server at all): the classification of
// classify.test.ts, proven on the answers the run's kube-apiserver gives.
import { eventually, freePort, sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect, Exit, Option } from "effect"
import { type K8sError, Kinds, KubeClient } from "../src/index.js"
import { resourceKind } from "../src/Kinds.js"
import { ensureWidgetCrd, kubeConfigWith, sharedClientSuite, type Widget, Widgets, withClient } from "./support.js"

const namespace = useNamespace("k8s-errors")

const widget = (name: string, spec: NonNullable<Widget["spec"]>): Widget => ({ metadata: { name, namespace }, spec })

const failure = <A>(effect: Effect.Effect<A, K8sError, KubeClient>) => Effect.flip(effect)

sharedClientSuite("K8sError from a real API server", "120 seconds", (test) => {
  test("produces NotFound, AlreadyExists, Conflict and Invalid (with field causes) from the server", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    const notFound = yield* failure(client.get(Kinds.Secret, { namespace, name: "absent" }))
    assert.strictEqual(notFound.reason._tag, "NotFound")
    assert.strictEqual(notFound.reason.status, 404)
    assert.isFalse(notFound.isRetryable)
    assert.include(notFound.message, `get v1 Secret ${namespace}/absent`)

    const object = { metadata: { name: "twice", namespace }, data: { a: "1" } }
    const created = yield* client.create(Kinds.ConfigMap, object)
    const exists = yield* failure(client.create(Kinds.ConfigMap, object))
    assert.strictEqual(exists.reason._tag, "AlreadyExists")
    assert.isFalse(exists.isRetryable)

    yield* client.replace(Kinds.ConfigMap, {
      ...object,
      metadata: { ...object.metadata, resourceVersion: created.metadata.resourceVersion },
      data: { a: "2" },
    })
    const stale = yield* failure(
      client.replace(Kinds.ConfigMap, {
        ...object,
        metadata: { ...object.metadata, resourceVersion: created.metadata.resourceVersion },
        data: { a: "3" },
      }),
    )
    assert.strictEqual(stale.reason._tag, "Conflict")
    assert.isTrue(stale.isRetryable, "a stale resourceVersion is fixed by re-reading")

    const badName = yield* failure(client.apply(Kinds.ConfigMap, { metadata: { name: "Not_A_Name", namespace } }))
    assert.strictEqual(badName.reason._tag, "Invalid")
    assert.isTrue(badName.reason._tag === "Invalid" && badName.reason.causes.some((c) => c.field === "metadata.name"))
    const badSpec = yield* failure(client.apply(Widgets, widget("negative", { size: -1 })))
    assert.strictEqual(badSpec.reason._tag, "Invalid")
    assert.isTrue(badSpec.reason._tag === "Invalid" && badSpec.reason.causes.some((c) => c.field === "spec.size"))
    assert.isFalse(badSpec.isRetryable)
  })

  test("produces Forbidden for a ServiceAccount without RBAC and Unauthorized for a bad token", function* () {
    const sa = yield* Effect.promise(() => sharedControlPlane().clientFor({ namespace, name: "nobody" }))
    const forbidden = yield* withClient(
      sa.kubeConfig,
      failure(KubeClient.use((c) => c.list(Kinds.Secret, { namespace }))),
    )
    assert.strictEqual(forbidden.reason._tag, "Forbidden")
    assert.isFalse(forbidden.isRetryable)

    const unauthorized = yield* withClient(
      kubeConfigWith({ token: "not-a-valid-token" }),
      failure(KubeClient.use((c) => c.list(Kinds.Secret, { namespace }))),
    )
    assert.strictEqual(unauthorized.reason._tag, "Unauthorized")
    assert.strictEqual(unauthorized.reason.status, 401)
    assert.isFalse(unauthorized.isRetryable)
  })

  test("produces a server-side Timeout (504) when the request deadline passes", function* () {
    const timeout = yield* withClient(
      sharedControlPlane().kubeConfig,
      failure(KubeClient.use((c) => c.list(Kinds.ConfigMap, {}))),
      // Already expired on arrival: the server answers 504 before its handler writes anything (with a longer
      // deadline it may expire mid-response, and the server then resets the stream: a Transport failure).
      { requestTimeout: "1 micros" },
    )
    assert.strictEqual(timeout.reason._tag, "Timeout", timeout.message)
    assert.strictEqual(timeout.reason.status, 504)
    assert.isTrue(timeout.isRetryable)
  })

  test("produces TooManyRequests with Retry-After when API Priority and Fairness rejects", function* (client) {
    const saName = "throttled"
    const level = `${namespace}-reject`
    const flowControl = (kind: string, plural: string) =>
      resourceKind({ group: "flowcontrol.apiserver.k8s.io", version: "v1", kind, plural, namespaced: false })
    const PriorityLevels = flowControl("PriorityLevelConfiguration", "prioritylevelconfigurations")
    const FlowSchemas = flowControl("FlowSchema", "flowschemas")
    const sa = yield* Effect.promise(() => sharedControlPlane().clientFor({ namespace, name: saName }))
    yield* client.apply(Kinds.Role, {
      metadata: { name: "list-configmaps", namespace },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list"] }],
    })
    yield* client.apply(Kinds.RoleBinding, {
      metadata: { name: "list-configmaps", namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "list-configmaps" },
      subjects: [{ kind: "ServiceAccount", name: saName, namespace }],
    })
    // A priority level of ~3 seats that rejects instead of queueing, for this ServiceAccount only.
    yield* Effect.acquireRelease(
      Effect.gen(function* () {
        yield* client.apply(PriorityLevels, {
          metadata: { name: level },
          spec: {
            type: "Limited",
            limited: {
              nominalConcurrencyShares: 1,
              lendablePercent: 0,
              borrowingLimitPercent: 0,
              limitResponse: { type: "Reject" },
            },
          },
        })
        yield* client.apply(FlowSchemas, {
          metadata: { name: level },
          spec: {
            priorityLevelConfiguration: { name: level },
            matchingPrecedence: 100,
            distinguisherMethod: { type: "ByUser" },
            rules: [
              {
                subjects: [{ kind: "ServiceAccount", serviceAccount: { name: saName, namespace } }],
                resourceRules: [
                  { verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"], clusterScope: true },
                ],
              },
            ],
          },
        })
      }),
      () =>
        Effect.all([client.delete(FlowSchemas, { name: level }), client.delete(PriorityLevels, { name: level })]).pipe(
          Effect.ignore,
        ),
    )
    const throttled = yield* eventually(
      withClient(
        sa.kubeConfig,
        KubeClient.use((c) =>
          Effect.gen(function* () {
            const results = yield* Effect.forEach(
              Array.from({ length: 200 }),
              () => Effect.exit(c.list(Kinds.ConfigMap, { namespace })),
              { concurrency: "unbounded" },
            )
            const rejected = results.flatMap((exit) =>
              Exit.isFailure(exit) ? Option.toArray(Exit.findErrorOption(exit)) : [],
            )
            const tooMany = rejected.find((error) => error.reason._tag === "TooManyRequests")
            return tooMany === undefined ? yield* Effect.fail(`no 429 among ${rejected.length} failures`) : tooMany
          }),
        ),
      ),
      "30 seconds",
    )
    assert.strictEqual(throttled.reason.status, 429)
    assert.isTrue(throttled.isRetryable)
    assert.isDefined(throttled.retryAfter, "the server sent Retry-After")
  })

  test("produces Unavailable (503) for an aggregated API whose backend is missing", function* (client) {
    const group = `${namespace}.unavailable.test.cartographer.dev`
    const APIServices = resourceKind({
      group: "apiregistration.k8s.io",
      version: "v1",
      kind: "APIService",
      plural: "apiservices",
      namespaced: false,
    })
    const Things = resourceKind({ group, version: "v1", kind: "Thing", plural: "things", namespaced: true })
    // Kept for as short a time as possible: an unavailable API group makes discovery partial for everyone.
    yield* Effect.acquireRelease(
      client.apply(APIServices, {
        metadata: { name: `v1.${group}` },
        spec: {
          group,
          version: "v1",
          groupPriorityMinimum: 1000,
          versionPriority: 15,
          insecureSkipTLSVerify: true,
          service: { namespace, name: "nothing-here", port: 443 },
        },
      }),
      () => client.delete(APIServices, { name: `v1.${group}` }).pipe(Effect.ignore),
    )
    const unavailable = yield* eventually(
      failure(client.get(Things, { namespace, name: "x" })).pipe(
        Effect.flatMap((error) => (error.reason._tag === "Unavailable" ? Effect.succeed(error) : Effect.fail(error))),
      ),
      "20 seconds",
    )
    assert.strictEqual(unavailable.reason.status, 503)
    assert.isTrue(unavailable.isRetryable)
  })

  test("produces Transport for a refused connection (retryable) and an untrusted certificate (not)", function* () {
    const port = yield* Effect.promise(freePort)
    const refused = yield* withClient(
      kubeConfigWith({ server: `https://127.0.0.1:${port}` }),
      failure(KubeClient.use((c) => c.list(Kinds.ConfigMap, { namespace }))),
    )
    assert.strictEqual(refused.reason._tag, "Transport")
    assert.isTrue(refused.reason._tag === "Transport" && refused.reason.code === "ECONNREFUSED")
    assert.isTrue(refused.isRetryable)

    const untrusted = yield* withClient(
      kubeConfigWith({ withCa: false }),
      failure(KubeClient.use((c) => c.list(Kinds.ConfigMap, { namespace }))),
    )
    assert.strictEqual(untrusted.reason._tag, "Transport")
    assert.isFalse(untrusted.isRetryable, `TLS verification failure: ${untrusted.message}`)

    // A token user without a CA gets no TLS dispatcher from client-node: the transport falls back to client-node's
    // fetch (undici's global pool, the system's CAs, which do not trust the test CA).
    const systemCas = yield* withClient(
      kubeConfigWith({ withCa: false, token: "not-checked" }),
      failure(KubeClient.use((c) => c.list(Kinds.ConfigMap, { namespace }))),
    )
    assert.strictEqual(systemCas.reason._tag, "Transport")
    assert.isFalse(systemCas.isRetryable, `TLS verification failure: ${systemCas.message}`)
  })

  test("produces Decode when a 2xx body is not an object with a complete envelope", function* (client) {
    // ComponentStatus objects are synthesized by the server without uid or resourceVersion.
    const ComponentStatuses = resourceKind({
      group: "",
      version: "v1",
      kind: "ComponentStatus",
      plural: "componentstatuses",
      namespaced: false,
    })
    const decode = yield* failure(client.get(ComponentStatuses, { name: "etcd-0" }))
    assert.strictEqual(decode.reason._tag, "Decode")
    assert.isFalse(decode.isRetryable)
  })
})
