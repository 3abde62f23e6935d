// The watch stream across API server restarts and etcd compaction, while objects are written
// concurrently. These faults run on a PRIVATE control plane (tier "api") started by this file: restarting the
// shared one would disturb every other suite, and the shared control plane's restart/compact methods live in the
// global-setup process, out of reach of test workers.
import { type ControlPlane, effectSuite, eventually, startControlPlane } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Metric, Random, Ref, Stream } from "effect"
import { type K8sError, Kinds, KubeClient, type KubeObject, type Live, Watch } from "../src/index.js"
import { type Mirror, mirror } from "./support.js"

class PrivateControlPlane extends Context.Service<PrivateControlPlane, ControlPlane>()("test/PrivateControlPlane") {
  static readonly layer = Layer.effect(
    PrivateControlPlane,
    Effect.acquireRelease(
      Effect.promise(() => startControlPlane({ tier: "api" })),
      (controlPlane) => Effect.promise(() => controlPlane.stop()),
    ),
  )
}

const namespace = "chaos"

const environment = Layer.provideMerge(
  Layer.unwrap(PrivateControlPlane.use((cp) => Effect.succeed(KubeClient.layer(cp.kubeConfig)))),
  PrivateControlPlane.layer,
).pipe(
  Layer.tap((context) => Context.get(context, KubeClient).apply(Kinds.Namespace, { metadata: { name: namespace } })),
)
const labelSelector = "chaos=yes"

const counter = (metric: Metric.Metric<number, Metric.CounterState<number>>) =>
  Metric.value(Metric.withAttributes(metric, { kind: "ConfigMap" })).pipe(Effect.map((state) => state.count))

const versions = (objects: ReadonlyArray<Live<KubeObject>>) =>
  objects.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort()

/** Fails (for `eventually`) until the stream's consumer holds exactly what a fresh list returns. */
const mirrorMatchesServer = (store: Mirror<KubeObject>) =>
  Effect.gen(function* () {
    const client = yield* KubeClient
    const cached = versions([...store.objects.values()])
    const fresh = versions((yield* client.list(Kinds.ConfigMap, { namespace, labelSelector })).items)
    if (cached.join() !== fresh.join()) {
      const lost = fresh.filter((v) => !cached.includes(v))
      const phantom = cached.filter((v) => !fresh.includes(v))
      return yield* Effect.fail(`lost/stale ${lost.join(" ")} | phantom/stale ${phantom.join(" ")}`)
    }
    return fresh.length
  })

/** Writers that create, update and delete ConfigMaps until interrupted; failures (server down) are ignored. */
const startWriters = Effect.gen(function* () {
  const client = yield* KubeClient
  const writes = yield* Ref.make(0)
  const write = Effect.gen(function* () {
    const name = `obj-${yield* Random.nextIntBetween(0, 39)}`
    const op: Effect.Effect<unknown, K8sError> =
      (yield* Random.next) < 0.25
        ? client.delete(Kinds.ConfigMap, { namespace, name })
        : client.apply(Kinds.ConfigMap, {
            metadata: { name, namespace, labels: { chaos: "yes" } },
            data: { value: String(yield* Random.next) },
          })
    yield* op.pipe(Effect.andThen(Ref.update(writes, (n) => n + 1)), Effect.ignore)
    yield* Effect.sleep("15 millis")
  })
  const fiber = yield* Effect.all([Effect.forever(write), Effect.forever(write)], { concurrency: "unbounded" }).pipe(
    Effect.forkScoped,
  )
  return { fiber, writes }
})

/**
 * A consumer's mirror of the ConfigMaps while writers change them and `steps` run one after the other (the fault and
 * the pauses around it); once the writers stop, it must come to hold exactly what the server does. Answers how many
 * writes were made and how many objects the mirror then holds.
 */
const mirrorWhileWriting = <E, R>(steps: ReadonlyArray<Effect.Effect<unknown, E, R>>) =>
  Effect.gen(function* () {
    const store = yield* mirror(Kinds.ConfigMap, { namespace, labelSelector })
    yield* store.synced
    const writers = yield* startWriters
    yield* Effect.all(steps, { discard: true })
    yield* Fiber.interrupt(writers.fiber)
    const objects = yield* eventually(mirrorMatchesServer(store), "60 seconds")
    return { writes: yield* Ref.get(writers.writes), objects }
  })

const restart = PrivateControlPlane.use((cp) => Effect.promise(() => cp.restartApiServer()))
const compact = PrivateControlPlane.use((cp) => Effect.promise(() => cp.compactEtcd()))
/**
 * A restart with etcd compacted while kube-apiserver is down: a watch's resume point is then always compacted away
 * (compacting first and restarting after let a watch on a loaded machine see newer writes in between, and resume).
 */
const restartCompacted = PrivateControlPlane.use((cp) => Effect.promise(() => cp.restartApiServer(cp.compactEtcd)))

effectSuite(KubeClient, environment)("Watch across API server faults", "300 seconds", (test) => {
  test("keeps what a consumer applies equal to the server across an API server restart, with concurrent writes", function* () {
    const failuresBefore = yield* counter(Watch.metrics.failures)
    const { writes, objects } = yield* mirrorWhileWriting([
      Effect.sleep("2 seconds"),
      restart,
      Effect.sleep("3 seconds"),
    ])
    assert.isAbove(writes, 50)
    assert.isAbove(objects, 0)
    assert.isAtLeast((yield* counter(Watch.metrics.failures)) - failuresBefore, 1, "the restart broke the watch")
  })

  test("keeps what a consumer applies equal to the server across etcd compaction, with concurrent writes", function* () {
    const second = Effect.sleep("1 second")
    yield* mirrorWhileWriting([second, compact, second, compact, second])
  })

  test("relists after 410 Gone when compaction and a restart erase its resume point, losing nothing", function* () {
    const expiredBefore = yield* counter(Watch.metrics.expired)
    const listsBefore = yield* counter(Watch.metrics.lists)
    yield* mirrorWhileWriting([Effect.sleep("1 second"), restartCompacted, Effect.sleep("3 seconds")])
    assert.isAtLeast((yield* counter(Watch.metrics.expired)) - expiredBefore, 1, "the resume got 410 Gone")
    assert.isAtLeast((yield* counter(Watch.metrics.lists)) - listsBefore, 2, "initial list + relist")
  })

  test("synthesizes DELETED for objects deleted while the stream could not watch", function* (client) {
    for (let i = 0; i < 5; i++) {
      yield* client.apply(Kinds.ConfigMap, {
        metadata: { name: `vanish-${i}`, namespace, labels: { vanish: "yes" } },
      })
    }
    const deletesBefore = yield* counter(Watch.metrics.synthesizedDeletes)
    const seen = yield* Ref.make<ReadonlyArray<string>>([])
    // A slow reconnect (20 s from the dropped connection, no jitter) leaves a window after the restart in which
    // the stream is not watching. It must outlast the restart itself: with 5 s, a restart that took about as long
    // on a loaded machine let the stream relist before the deletions, which it then saw as plain events.
    yield* Watch.watch(Kinds.ConfigMap, {
      namespace,
      labelSelector: "vanish=yes",
      backoff: { initial: "20 seconds", jitter: 0 },
    }).pipe(
      Stream.runForEach((event) =>
        Ref.update(seen, (all) => [
          ...all,
          event.type === "SYNCED" ? "SYNCED" : `${event.type} ${event.object.metadata.name}`,
        ]),
      ),
      Effect.forkScoped,
    )
    yield* eventually(
      Ref.get(seen).pipe(Effect.flatMap((all) => (all.includes("SYNCED") ? Effect.void : Effect.fail("not synced")))),
    )
    // Compaction + restart: the server's history no longer covers the stream's resume point, so the deletions
    // made in the window can only be learned from a relist.
    yield* restartCompacted
    for (let i = 0; i < 5; i++) yield* client.delete(Kinds.ConfigMap, { namespace, name: `vanish-${i}` })
    const all = yield* eventually(
      Ref.get(seen).pipe(
        Effect.flatMap((all) =>
          all.filter((e) => e.startsWith("DELETED")).length >= 5 ? Effect.succeed(all) : Effect.fail(all.join(", ")),
        ),
      ),
      "60 seconds",
    )
    assert.deepStrictEqual(
      all.filter((e) => e.startsWith("DELETED")).sort(),
      Array.from({ length: 5 }, (_, i) => `DELETED vanish-${i}`),
      "each deletion exactly once",
    )
    assert.strictEqual(all.filter((e) => e === "SYNCED").length, 2, "initial list + relist")
    assert.isAtLeast((yield* counter(Watch.metrics.synthesizedDeletes)) - deletesBefore, 1, "the relist made them up")
  })

  test("a watch resuming from a compacted resourceVersion after a restart fails with Gone", function* (client) {
    const before = yield* client.list(Kinds.ConfigMap, { namespace })
    for (let i = 0; i < 5; i++) {
      yield* client.apply(Kinds.ConfigMap, { metadata: { name: `gone-${i}`, namespace }, data: { i: String(i) } })
    }
    yield* restartCompacted
    const gone = yield* eventually(
      client.watchOnce(Kinds.ConfigMap, { namespace, resourceVersion: before.resourceVersion }).pipe(
        Stream.runDrain,
        Effect.flip,
        Effect.flatMap((error) => (error.reason._tag === "Gone" ? Effect.succeed(error) : Effect.fail(error))),
      ),
      "60 seconds",
    )
    assert.strictEqual(gone.reason._tag, "Gone")
    assert.isTrue(gone.isRetryable)
  })
})
