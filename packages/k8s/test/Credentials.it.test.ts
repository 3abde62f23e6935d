// The client reuses its authentication headers for a while (client-node computes them by reading certificate files and
// building a connection pool each time), and a token the API server stops accepting meanwhile never reaches a caller
// as a 401 when fresh credentials exist: the request is sent once more with them. Against the run's real API server,
// with real ServiceAccount tokens from the TokenRequest API, one of them bound to a Secret so that it can be revoked.
import { sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { assert, it } from "@effect/vitest"
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node"
import { Effect, Schedule } from "effect"
import { Kinds, KubeClient } from "../src/index.js"

const namespace = useNamespace("k8s-credentials")
const account = "rotating"

/** A client acting with `token`, whose KubeConfig the test can change under it (a rotated token). */
const kubeConfigWith = (token: string) => {
  const control = sharedControlPlane()
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromOptions({
    clusters: [{ name: "test", server: control.apiServerUrl, caFile: control.caFile, skipTLSVerify: false }],
    users: [{ name: account, token }],
    contexts: [{ name: "test", cluster: "test", user: account }],
    currentContext: "test",
  })
  return kubeConfig
}

/** The reason a request of the ServiceAccount (which no role allows to read Secrets) fails with. */
const reasonOfRead = Effect.gen(function* () {
  const client = yield* KubeClient
  const error = yield* Effect.flip(client.get(Kinds.Secret, { namespace, name: "anything" }))
  return error.reason._tag
})

it.live(
  "sends a request rejected with reused credentials once more with fresh ones, so the caller never sees the 401",
  () =>
    Effect.gen(function* () {
      const core = sharedControlPlane().kubeConfig.makeApiClient(CoreV1Api)
      yield* Effect.promise(() =>
        core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: account } } }),
      )
      const anchor = yield* Effect.promise(() =>
        core.createNamespacedSecret({ namespace, body: { metadata: { name: "token-anchor" } } }),
      )
      const tokenOf = (bound: boolean) =>
        Effect.promise(() =>
          core.createNamespacedServiceAccountToken({
            namespace,
            name: account,
            body: {
              spec: {
                audiences: [],
                expirationSeconds: 3600,
                ...(bound
                  ? {
                      boundObjectRef: {
                        apiVersion: "v1",
                        kind: "Secret",
                        name: "token-anchor",
                        uid: anchor.metadata?.uid ?? "",
                      },
                    }
                  : {}),
              },
            },
          }),
        ).pipe(Effect.map((request) => request.status?.token ?? ""))
      const revocable = yield* tokenOf(true)
      const fresh = yield* tokenOf(false)

      const kubeConfig = kubeConfigWith(revocable)
      yield* Effect.gen(function* () {
        // Authenticated (and refused by RBAC): the headers are now computed and reused.
        assert.strictEqual(yield* reasonOfRead, "Forbidden")

        // Revoke the first token (its Secret goes), wait until the server rejects it, then rotate to the fresh one.
        yield* Effect.promise(() => core.deleteNamespacedSecret({ namespace, name: "token-anchor" }))
        yield* reasonOfRead.pipe(
          Effect.provide(KubeClient.layer(kubeConfigWith(revocable))),
          Effect.filterOrFail((reason) => reason === "Unauthorized"),
          Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo({ duration: "30 seconds" }))),
        )
        ;(kubeConfig.users[0] as { token?: string }).token = fresh

        // Within the reuse period: the reused headers are refused, the request goes again with the fresh token.
        assert.strictEqual(yield* reasonOfRead, "Forbidden")
      }).pipe(Effect.provide(KubeClient.layer(kubeConfig, { credentialsReuse: "10 minutes" })))
    }),
  { timeout: 60_000 },
)
