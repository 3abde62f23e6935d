// The list-then-watch stream and the Store against the run's real kube-apiserver. Faults that need the API
// server restarted or etcd compacted are in WatchChaos.it.test.ts (on a private control plane).
import { adminUser, readAudit, sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { assert, layer } from "@effect/vitest"
import { type Duration, Effect, Fiber, Metric, Option, Random, Ref, Stream } from "effect"
import { KubeClient, Store, Watch } from "../src/index.js"
import { ensureWidgetCrd, eventually, sharedClient, type Widget, Widgets } from "./support.js"

const namespace = useNamespace("k8s-watch")

const widget = (name: string, labels: Record<string, string>, size = 1): Widget => ({
  metadata: { name, namespace, labels },
  spec: { size },
})

const counter = (metric: Metric.Metric<number, Metric.CounterState<number>>) =>
  Metric.value(Metric.withAttributes(metric, { kind: "Widget" })).pipe(Effect.map((state) => state.count))

const describeEvent = (event: Watch.WatchEvent<Widget>) =>
  event.type === "SYNCED" ? "SYNCED" : `${event.type} ${event.object.metadata.name}`

/** Runs the stream in the background, collecting its events. */
const collect = (stream: Stream.Stream<Watch.WatchEvent<Widget>, never, KubeClient>) =>
  Effect.gen(function* () {
    const events = yield* Ref.make<ReadonlyArray<Watch.WatchEvent<Widget>>>([])
    const fiber = yield* stream.pipe(
      Stream.runForEach((event) => Ref.update(events, (all) => [...all, event])),
      Effect.forkScoped,
    )
    const until = (
      predicate: (all: ReadonlyArray<Watch.WatchEvent<Widget>>) => boolean,
      timeout: Duration.Input = "30 seconds",
    ) =>
      eventually(
        Ref.get(events).pipe(
          Effect.flatMap((all) =>
            predicate(all) ? Effect.succeed(all) : Effect.fail(all.map(describeEvent).join(", ")),
          ),
        ),
        timeout,
      )
    return { events, fiber, until }
  })

/** Store contents and a fresh list, both as name → resourceVersion. */
const storeMatchesServer = (store: Store.Store<Widget>, labelSelector: string) =>
  Effect.gen(function* () {
    const client = yield* KubeClient
    const cached = (yield* store.list()).map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort()
    const fresh = (yield* client.list(Widgets, { namespace, labelSelector })).items
      .map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`)
      .sort()
    if (cached.join() !== fresh.join()) {
      return yield* Effect.fail(
        `store ${cached.length} objects, server ${fresh.length}: ${cached.join()} vs ${fresh.join()}`,
      )
    }
    return fresh.length
  })

layer(sharedClient, { excludeTestServices: true, timeout: "60 seconds" })("Watch on a real API server", (it) => {
  it.effect("emits existing objects as ADDED, then SYNCED, then live changes in order", () =>
    Effect.gen(function* () {
      yield* ensureWidgetCrd
      const client = yield* KubeClient
      const labels = { watch: "order" }
      yield* client.apply(Widgets, widget("a", labels))
      yield* client.apply(Widgets, widget("b", labels))
      yield* client.apply(Widgets, widget("other", { watch: "elsewhere" }))
      const { until } = yield* collect(Watch.watch(Widgets, { namespace, labelSelector: "watch=order" }))
      yield* until((all) => all.some((e) => e.type === "SYNCED"))
      yield* client.apply(Widgets, widget("c", labels))
      yield* client.apply(Widgets, widget("a", labels, 2))
      yield* client.delete(Widgets, { namespace, name: "b" })
      const all = yield* until((all) => all.some((e) => e.type === "DELETED"))
      const seen = all.map(describeEvent)
      assert.deepStrictEqual(seen.slice(0, 2).sort(), ["ADDED a", "ADDED b"])
      assert.deepStrictEqual(seen.slice(2), ["SYNCED", "ADDED c", "MODIFIED a", "DELETED b"])
    }),
  )

  it.effect(
    "resumes from the last resourceVersion when the server ends each watch, without relisting",
    () =>
      Effect.gen(function* () {
        yield* ensureWidgetCrd
        const client = yield* KubeClient
        const labels = { watch: "resume" }
        const listsBefore = yield* counter(Watch.metrics.lists)
        const since = new Date(Date.now() - 1000)
        // The server closes every watch after one second.
        const { until } = yield* collect(
          Watch.watch(Widgets, {
            namespace,
            labelSelector: "watch=resume",
            minTimeoutSeconds: 1,
            maxTimeoutSeconds: 1,
          }),
        )
        yield* until((all) => all.some((e) => e.type === "SYNCED"))
        for (let i = 0; i < 10; i++) {
          yield* client.apply(Widgets, widget(`r-${i}`, labels))
          yield* Effect.sleep("400 millis")
        }
        const all = yield* until((all) => all.filter((e) => e.type === "ADDED").length === 10)
        assert.deepStrictEqual(
          all.map(describeEvent),
          ["SYNCED", ...Array.from({ length: 10 }, (_, i) => `ADDED r-${i}`)],
          "every change exactly once, in order",
        )
        assert.strictEqual(
          (yield* counter(Watch.metrics.lists)) - listsBefore,
          1,
          "one list, then only resumed watches",
        )
        const watches = yield* Effect.promise(() =>
          readAudit(sharedControlPlane().auditLogPath, {
            user: adminUser,
            verbs: ["watch"],
            resource: "widgets",
            namespace,
            since,
            where: (event) => event.requestURI.includes("watch%3Dresume") || event.requestURI.includes("watch=resume"),
          }),
        )
        assert.isAtLeast(watches.length, 3, "the server closed and we reconnected several times")
        assert.isTrue(watches.every((event) => event.requestURI.includes("allowWatchBookmarks=true")))
        assert.isTrue(
          watches.every((event) => /resourceVersion=\d+/u.test(event.requestURI)),
          "resumed, never from 'now'",
        )
      }),
    { timeout: 60_000 },
  )

  it.effect(
    "abandons a silent connection after the inactivity timeout and keeps delivering",
    () =>
      Effect.gen(function* () {
        yield* ensureWidgetCrd
        const client = yield* KubeClient
        const failuresBefore = yield* counter(Watch.metrics.failures)
        const { until } = yield* collect(
          Watch.watch(Widgets, { namespace, labelSelector: "watch=silent", inactivityTimeout: "1 second" }),
        )
        yield* until((all) => all.some((e) => e.type === "SYNCED"))
        // Silence (1 s), backoff (0.8–1.6 s), silence again: two firings within 5 s.
        yield* Effect.sleep("5 seconds")
        assert.isAtLeast((yield* counter(Watch.metrics.failures)) - failuresBefore, 2, "the watchdog fired")
        yield* client.apply(Widgets, widget("after-silence", { watch: "silent" }))
        const all = yield* until((all) => all.some((e) => e.type === "ADDED"))
        assert.deepStrictEqual(all.map(describeEvent), ["SYNCED", "ADDED after-silence"])
      }),
    { timeout: 60_000 },
  )

  it.effect(
    "keeps a synced Store equal to a fresh list while objects are written concurrently",
    () =>
      Effect.gen(function* () {
        yield* ensureWidgetCrd
        const client = yield* KubeClient
        const labels = { watch: "store" }
        for (let i = 0; i < 10; i++) yield* client.apply(Widgets, widget(`s-${i}`, labels))
        const store = yield* Store.make(Widgets, { namespace, labelSelector: "watch=store" })
        yield* store.synced.pipe(Effect.timeout("30 seconds"))
        assert.isTrue(yield* store.isSynced)
        assert.strictEqual((yield* store.keys).length, 10)

        const writer = Effect.gen(function* () {
          const name = `s-${yield* Random.nextIntBetween(0, 29)}`
          if ((yield* Random.next) < 0.3) {
            yield* client.delete(Widgets, { namespace, name }).pipe(Effect.ignore)
          } else {
            yield* client
              .apply(Widgets, widget(name, labels, yield* Random.nextIntBetween(0, 1000)))
              .pipe(Effect.ignore)
          }
        })
        const writers = yield* Effect.all(
          Array.from({ length: 3 }, () => writer.pipe(Effect.repeat({ times: 60 }))),
          { concurrency: "unbounded", discard: true },
        ).pipe(Effect.forkChild)
        yield* Fiber.join(writers)
        const count = yield* eventually(storeMatchesServer(store, "watch=store"), "30 seconds")
        assert.isAbove(count, 0)
      }),
    { timeout: 90_000 },
  )

  it.effect("delivers Store events after the cache reflects them", () =>
    Effect.gen(function* () {
      yield* ensureWidgetCrd
      const client = yield* KubeClient
      const store = yield* Store.make(Widgets, { namespace, labelSelector: "watch=ordered-store" })
      const checked = yield* Ref.make<ReadonlyArray<boolean>>([])
      yield* store.events.pipe(
        Stream.runForEach((event) =>
          event.type === "SYNCED"
            ? Effect.void
            : store
                .get(event.object.metadata)
                .pipe(
                  Effect.flatMap((cached) =>
                    Ref.update(checked, (all) => [
                      ...all,
                      event.type === "DELETED" ? Option.isNone(cached) : Option.isSome(cached),
                    ]),
                  ),
                ),
        ),
        Effect.forkScoped,
      )
      yield* store.synced
      yield* client.apply(Widgets, widget("e-1", { watch: "ordered-store" }))
      yield* client.delete(Widgets, { namespace, name: "e-1" })
      const results = yield* eventually(
        Ref.get(checked).pipe(
          Effect.flatMap((all) => (all.length >= 2 ? Effect.succeed(all) : Effect.fail("waiting"))),
        ),
      )
      assert.deepStrictEqual(results, [true, true])
    }),
  )
})
