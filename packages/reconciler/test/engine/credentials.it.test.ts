// The Workspace's Secret as credentials are added to it, against the real API server and as the shipped ClusterRole
// allows: basic auth switched on later adds its keys and changes no other; a key is added only to the Secret the
// engine saw, so a stale view (a new leader whose cache lags) can never rotate a credential another write created.
import { Kinds, KubeClient, type KubeObject, type Live } from "@cartographer/k8s"
import { eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { makeApply } from "../../src/engine/Apply.js"
import type { View } from "../../src/engine/Gather.js"
import { OwnWrites } from "../../src/engine/OwnWrites.js"
import type { Secret } from "../../src/plan/kube.js"
import { decodeBase64, encodeBase64 } from "../../src/plan/secrets.js"
import { condition, engineSuite, withWorkflows } from "./support.js"

const suite = engineSuite("engine-credentials")
const { namespace } = suite

const dataOf = (secret: KubeObject): Readonly<Record<string, string>> =>
  (secret as { data?: Record<string, string> }).data ?? {}

const envOf = (deployment: KubeObject): ReadonlyArray<{ name: string; valueFrom?: unknown }> =>
  (deployment.spec as { template: { spec: { containers: Array<{ env?: Array<{ name: string }> }> } } }).template.spec
    .containers[0]?.env ?? []

suite.tests("credentials", "180 seconds", (test) => {
  test("switching basic auth on adds generated credentials to the existing Secret and changes none of its keys", function* (admin) {
    yield* suite.startEngine()
    const workspace = suite.sample("basic-workspace.yaml", "auth")
    yield* suite.apply(workspace)
    const ref = { namespace, name: "auth-environment-secrets" }
    const before = dataOf(yield* eventually(admin.get(Kinds.Secret, ref)))

    yield* suite.apply(withWorkflows(workspace, { server: { basicAuth: { enabled: true } } }))
    const after = dataOf(
      yield* eventually(
        admin.get(Kinds.Secret, ref).pipe(Effect.filterOrFail((s) => dataOf(s)["auth-string"] !== undefined)),
      ),
    )
    for (const [key, value] of Object.entries(before)) assert.strictEqual(after[key], value, key)
    const user = decodeBase64(after["api-auth-username"] ?? "")
    const password = decodeBase64(after["api-auth-password"] ?? "") ?? ""
    assert.strictEqual(user, "admin")
    assert.isAtLeast(password.length, 32)
    assert.strictEqual(decodeBase64(after["auth-string"] ?? ""), `admin:${password}`)
    const server = yield* eventually(
      admin
        .get(Kinds.Deployment, { namespace, name: "auth-orion-server" })
        .pipe(Effect.filterOrFail((d) => envOf(d).some((e) => e.name === "PREFECT_SERVER_API_AUTH_STRING"))),
    )
    assert.deepStrictEqual(envOf(server).find((e) => e.name === "PREFECT_SERVER_API_AUTH_STRING")?.valueFrom, {
      secretKeyRef: { name: ref.name, key: "auth-string" },
    })

    // Off again: the server stops asking, the credentials stay for the next time.
    yield* suite.apply(workspace)
    yield* eventually(
      admin
        .get(Kinds.Deployment, { namespace, name: "auth-orion-server" })
        .pipe(Effect.filterOrFail((d) => !envOf(d).some((e) => e.name === "PREFECT_SERVER_API_AUTH_STRING"))),
    )
    assert.deepStrictEqual(dataOf(yield* admin.get(Kinds.Secret, ref)), after)
  })

  test("reports a basic auth Secret the spec names but that does not exist as Degraded/SecretMissing, until it is created", function* (admin) {
    yield* suite.startEngine({ rejectedRecheck: "2 seconds" })
    const workspace = suite.sample("basic-workspace.yaml", "named")
    const server = { basicAuth: { enabled: true, secretRef: { name: "named-auth" } } }
    yield* suite.apply(withWorkflows(workspace, { server }))
    const degraded = yield* suite.waitForCondition("named", "Degraded", "True")
    assert.strictEqual(condition(degraded, "Degraded")?.reason, "SecretMissing")
    assert.include(
      condition(degraded, "Degraded")?.message,
      `spec.workflows.server.basicAuth.secretRef: Secret named-auth does not exist in ${namespace}`,
    )
    // Created without the key it names, then with it: no change to the Workspace, and no event for us to see.
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { namespace, name: "named-auth" } }
    yield* admin.apply(Kinds.Secret, { ...secret, data: { other: encodeBase64("x") } }, { fieldManager: "user" })
    yield* eventually(
      suite
        .waitForCondition("named", "Degraded", "True")
        .pipe(Effect.filterOrFail((w) => (condition(w, "Degraded")?.message ?? "").includes("has no key auth-string"))),
    )
    yield* admin.apply(
      Kinds.Secret,
      { ...secret, data: { "auth-string": encodeBase64("admin:pw") } },
      {
        fieldManager: "user",
      },
    )
    yield* suite.waitForCondition("named", "Degraded", "False")
  })

  test("a key added from a stale view of the Secret is refused (retried later), never overwriting the live one", function* (admin) {
    const ref = { namespace, name: "stale-environment-secrets" }
    const labels = { "app.kubernetes.io/managed-by": "cartographer", "mlops.aigency.com/environment": "stale" }
    const seen = yield* admin.create(Kinds.Secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { ...ref, labels },
      data: { password: encodeBase64("db") },
    })
    // Another writer (the previous leader) adds the credentials after this view was taken.
    yield* admin.apply(
      Kinds.Secret,
      { apiVersion: "v1", kind: "Secret", metadata: ref, data: { "auth-string": encodeBase64("admin:first") } },
      { fieldManager: "previous-leader" },
    )
    const staleView: View = {
      get: (kind, at) => (kind === "Secret" && at.name === ref.name ? (seen as Live<KubeObject>) : undefined),
      owned: () => [],
    }
    // Applied as the operator, with its client for the rest of the test.
    const operator = yield* Layer.build(suite.identity().layer)
    const apply = makeApply({
      client: Context.get(operator, KubeClient),
      view: staleView,
      ownWrites: new OwnWrites(),
      fieldManager: "cartographer",
      wrote: () => Effect.void,
    })
    const planned: Secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { ...ref, labels },
      type: "Opaque",
      data: { password: encodeBase64("db"), "auth-string": encodeBase64("admin:second") },
    }
    const error = yield* Effect.flip(apply("stale", undefined, [planned]))
    assert.strictEqual(error.reason._tag, "ApiUnavailable")
    assert.isTrue(error.isRetryable)
    const live = dataOf(yield* admin.get(Kinds.Secret, ref))
    assert.strictEqual(decodeBase64(live["auth-string"] ?? ""), "admin:first")
  })
})
