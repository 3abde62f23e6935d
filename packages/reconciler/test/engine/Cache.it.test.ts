// The engine's informer cache against the real API server: slimmed objects indexed by owner, and a watch stream
// that crashes is restarted and its relist accounts for what changed while it was down.
import { Kinds, KubeClient, type KubeObject } from "@cartographer/k8s"
import { effectSuite, eventually, sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Cache from "../../src/engine/Cache.js"
import { slim } from "../../src/engine/Cache.js"
import { Faults } from "../../src/engine/Faults.js"

const namespace = useNamespace("engine-cache")

const admin = Layer.unwrap(Effect.sync(() => KubeClient.layer(sharedControlPlane().kubeConfig)))

const configMap = (name: string, labels: Record<string, string>, a = "1"): KubeObject => ({
  metadata: { name, namespace, labels },
  data: { a },
})

const crashLabels = { "cache-crash": "yes" }

effectSuite(KubeClient, admin)("the engine's cache", "120 seconds", (test) => {
  test("holds objects without managedFields, indexed by the Workspace they belong to", function* (client) {
    yield* client.apply(Kinds.ConfigMap, configMap("one", { "cache-test": "yes", owner: "ws-a" }), {
      fieldManager: "cache-test",
    })
    yield* client.apply(Kinds.ConfigMap, configMap("two", { "cache-test": "yes", owner: "ws-b" }), {
      fieldManager: "cache-test",
    })
    const cache = yield* Cache.make(Kinds.ConfigMap, {
      namespaces: [namespace],
      labelSelector: "cache-test=yes",
      transform: slim,
      ownersOf: (object) => [`${namespace}/${object.metadata.labels?.owner}`],
      onChange: () => Effect.void,
    })
    yield* cache.synced
    const live = yield* client.get(Kinds.ConfigMap, { namespace, name: "one" })
    assert.isAbove(live.metadata.managedFields?.length ?? 0, 0)
    assert.isUndefined(cache.get({ namespace, name: "one" })?.metadata.managedFields)
    assert.deepStrictEqual(
      cache.ownedBy(`${namespace}/ws-a`).map((o) => o.metadata.name),
      ["one"],
    )
    yield* client.apply(Kinds.ConfigMap, configMap("one", { "cache-test": "yes", owner: "ws-b" }), {
      fieldManager: "cache-test",
    })
    yield* eventually(
      Effect.suspend(() =>
        cache.ownedBy(`${namespace}/ws-b`).length === 2 ? Effect.void : Effect.fail("index not updated"),
      ),
    )
    assert.deepStrictEqual(cache.ownedBy(`${namespace}/ws-a`), [])
  })

  test("restarts a crashed stream and reports what was deleted while it was down", function* (client) {
    yield* client.apply(Kinds.ConfigMap, configMap("stays", crashLabels), { fieldManager: "cache-test" })
    yield* client.apply(Kinds.ConfigMap, configMap("goes", crashLabels), { fieldManager: "cache-test" })
    const changes: Array<string> = []
    let crashed = false
    const cache = yield* Cache.make(Kinds.ConfigMap, {
      namespaces: [namespace],
      labelSelector: "cache-crash=yes",
      ownersOf: () => [],
      onChange: (change) =>
        Effect.sync(() => {
          if (change.type !== "SYNCED") changes.push(`${change.type} ${change.object.metadata.name}`)
        }),
    }).pipe(
      Effect.provideService(Faults, {
        afterWrite: () => Effect.void,
        // The first live event after the initial sync kills the stream.
        beforeEvent: (event) =>
          event.type === "MODIFIED" && !crashed
            ? Effect.sync(() => (crashed = true)).pipe(Effect.andThen(Effect.die("stream crashed")))
            : Effect.succeed(true),
      }),
    )
    yield* cache.synced
    yield* client.apply(Kinds.ConfigMap, configMap("stays", crashLabels, "2"), { fieldManager: "cache-test" })
    yield* eventually(Effect.suspend(() => (crashed ? Effect.void : Effect.fail("not crashed yet"))))
    // While the stream waits out its restart backoff (at least 0.8 s), one object goes.
    yield* client.delete(Kinds.ConfigMap, { namespace, name: "goes" })
    yield* eventually(
      Effect.suspend(() => (cache.get({ namespace, name: "goes" }) === undefined ? Effect.void : Effect.fail("ghost"))),
    )
    assert.include(changes, "DELETED goes")
    assert.include(changes, "MODIFIED stays", "the change it crashed on is seen after the restart")
    assert.strictEqual((cache.get({ namespace, name: "stays" })?.data as { a?: string } | undefined)?.a, "2")
  })
})
