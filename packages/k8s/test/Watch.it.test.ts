// The list-then-watch stream against the run's real kube-apiserver. Faults that need the API
// server restarted or etcd compacted are in WatchChaos.it.test.ts (on a private control plane).
import { eventually, useNamespace } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect, Fiber, Metric, Random, Ref, Stream } from "effect"
import { KubeClient, Watch } from "../src/index.js"
import { resourceKind } from "../src/Kinds.js"
import {
  adminRequests,
  CustomResourceDefinitions,
  ensureWidgetCrd,
  type Mirror,
  mirror,
  sharedClientSuite,
  type Widget,
  Widgets,
  widgetLikeCrd,
} from "./support.js"

const namespace = useNamespace("k8s-watch")

const widget = (name: string, labels: Record<string, string>, size = 1): Widget => ({
  metadata: { name, namespace, labels },
  spec: { size },
})

const counter = (metric: Metric.Metric<number, Metric.CounterState<number>>) =>
  Metric.value(Metric.withAttributes(metric, { kind: "Widget" })).pipe(Effect.map((state) => state.count))

const describeEvent = (event: Watch.WatchEvent<Widget>) =>
  event.type === "SYNCED" ? "SYNCED" : `${event.type} ${event.object.metadata.name}`

/**
 * Runs the stream in the background, collecting its events. `seen(predicate)` succeeds with them once they satisfy
 * `predicate`, and fails listing them otherwise (for `eventually`).
 */
const collect = (stream: Stream.Stream<Watch.WatchEvent<Widget>, never, KubeClient>) =>
  Effect.gen(function* () {
    const events = yield* Ref.make<ReadonlyArray<Watch.WatchEvent<Widget>>>([])
    const fiber = yield* stream.pipe(
      Stream.runForEach((event) => Ref.update(events, (all) => [...all, event])),
      Effect.forkScoped,
    )
    const seen = (predicate: (all: ReadonlyArray<Watch.WatchEvent<Widget>>) => boolean) =>
      Ref.get(events).pipe(
        Effect.flatMap((all) =>
          predicate(all) ? Effect.succeed(all) : Effect.fail(all.map(describeEvent).join(", ")),
        ),
      )
    return { events, fiber, seen }
  })

/** What the stream's consumer holds and a fresh list, both as name → resourceVersion. */
const mirrorMatchesServer = (store: Mirror<Widget>, labelSelector: string) =>
  Effect.gen(function* () {
    const client = yield* KubeClient
    const cached = [...store.objects.values()].map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort()
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

sharedClientSuite("Watch on a real API server", "120 seconds", (test) => {
  test("emits existing objects as ADDED, then SYNCED, then live changes in order", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    const labels = { watch: "order" }
    yield* client.apply(Widgets, widget("a", labels))
    yield* client.apply(Widgets, widget("b", labels))
    yield* client.apply(Widgets, widget("other", { watch: "elsewhere" }))
    const { seen } = yield* collect(Watch.watch(Widgets, { namespace, labelSelector: "watch=order" }))
    yield* eventually(seen((all) => all.some((e) => e.type === "SYNCED")))
    yield* client.apply(Widgets, widget("c", labels))
    yield* client.apply(Widgets, widget("a", labels, 2))
    yield* client.delete(Widgets, { namespace, name: "b" })
    const all = yield* eventually(seen((all) => all.some((e) => e.type === "DELETED")))
    const described = all.map(describeEvent)
    assert.deepStrictEqual(described.slice(0, 2).sort(), ["ADDED a", "ADDED b"])
    assert.deepStrictEqual(described.slice(2), ["SYNCED", "ADDED c", "MODIFIED a", "DELETED b"])
  })

  test("resumes from the last resourceVersion when the server ends each watch, without relisting", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    const labels = { watch: "resume" }
    const listsBefore = yield* counter(Watch.metrics.lists)
    const since = new Date(Date.now() - 1000)
    // The server closes every watch after one second.
    const { seen } = yield* collect(
      Watch.watch(Widgets, {
        namespace,
        labelSelector: "watch=resume",
        minTimeoutSeconds: 1,
        maxTimeoutSeconds: 1,
      }),
    )
    yield* eventually(seen((all) => all.some((e) => e.type === "SYNCED")))
    for (let i = 0; i < 10; i++) {
      yield* client.apply(Widgets, widget(`r-${i}`, labels))
      yield* Effect.sleep("400 millis")
    }
    const all = yield* eventually(seen((all) => all.filter((e) => e.type === "ADDED").length === 10))
    assert.deepStrictEqual(
      all.map(describeEvent),
      ["SYNCED", ...Array.from({ length: 10 }, (_, i) => `ADDED r-${i}`)],
      "every change exactly once, in order",
    )
    assert.strictEqual((yield* counter(Watch.metrics.lists)) - listsBefore, 1, "one list, then only resumed watches")
    const watches = yield* adminRequests({
      verbs: ["watch"],
      resource: "widgets",
      namespace,
      since,
      where: (event) => event.requestURI.includes("watch%3Dresume") || event.requestURI.includes("watch=resume"),
    })
    assert.isAtLeast(watches.length, 3, "the server closed and we reconnected several times")
    assert.isTrue(watches.every((event) => event.requestURI.includes("allowWatchBookmarks=true")))
    assert.isTrue(
      watches.every((event) => /resourceVersion=\d+/u.test(event.requestURI)),
      "resumed, never from 'now'",
    )
  })

  test("abandons a silent connection after the inactivity timeout, resumes it at once without a backoff, and keeps delivering", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    const failuresBefore = yield* counter(Watch.metrics.failures)
    const silentBefore = yield* counter(Watch.metrics.silent)
    const listsBefore = yield* counter(Watch.metrics.lists)
    const { seen } = yield* collect(
      Watch.watch(Widgets, { namespace, labelSelector: "watch=silent", inactivityTimeout: "1 second" }),
    )
    yield* eventually(seen((all) => all.some((e) => e.type === "SYNCED")))
    // Silence (1 s), an immediate resume, silence again: at least three firings within 5 s (a backoff of
    // 0.8-1.6 s after each would allow two at most).
    yield* Effect.sleep("5 seconds")
    assert.isAtLeast((yield* counter(Watch.metrics.silent)) - silentBefore, 3, "the watchdog fired")
    assert.strictEqual((yield* counter(Watch.metrics.failures)) - failuresBefore, 0, "silence is no failure")
    assert.strictEqual((yield* counter(Watch.metrics.lists)) - listsBefore, 1, "resumed, never relisted")
    yield* client.apply(Widgets, widget("after-silence", { watch: "silent" }))
    const all = yield* eventually(seen((all) => all.some((e) => e.type === "ADDED")))
    assert.deepStrictEqual(all.map(describeEvent), ["SYNCED", "ADDED after-silence"])
  })

  test("keeps what a consumer applies equal to a fresh list while objects are written concurrently", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    const labels = { watch: "store" }
    for (let i = 0; i < 10; i++) yield* client.apply(Widgets, widget(`s-${i}`, labels))
    const store = yield* mirror(Widgets, { namespace, labelSelector: "watch=store" })
    yield* store.synced.pipe(Effect.timeout("30 seconds"))
    assert.strictEqual(store.objects.size, 10)

    const writer = Effect.gen(function* () {
      const name = `s-${yield* Random.nextIntBetween(0, 29)}`
      if ((yield* Random.next) < 0.3) {
        yield* client.delete(Widgets, { namespace, name }).pipe(Effect.ignore)
      } else {
        yield* client.apply(Widgets, widget(name, labels, yield* Random.nextIntBetween(0, 1000))).pipe(Effect.ignore)
      }
    })
    const writers = yield* Effect.all(
      Array.from({ length: 3 }, () => writer.pipe(Effect.repeat({ times: 60 }))),
      { concurrency: "unbounded", discard: true },
    ).pipe(Effect.forkChild)
    yield* Fiber.join(writers)
    const count = yield* eventually(mirrorMatchesServer(store, "watch=store"), "30 seconds")
    assert.isAbove(count, 0)
  })

  test("reports a kind the server does not serve as synced and empty, then its objects once its CRD is installed, and their deletion when it is removed", function* (client) {
    const group = `g${(yield* Random.nextIntBetween(0, 1e9)).toString(36)}.k8s.test.cartographer.dev`
    const Gadgets = resourceKind<Widget>({
      group,
      version: "v1",
      kind: "Gadget",
      plural: "gadgets",
      namespaced: true,
    })
    const crd = widgetLikeCrd(Gadgets)
    yield* Effect.addFinalizer(() =>
      client.delete(CustomResourceDefinitions, { name: crd.metadata.name }).pipe(Effect.ignore),
    )
    const { seen } = yield* collect(
      Watch.watch(Gadgets, {
        namespace,
        notServedAsEmpty: true,
        backoff: { initial: "200 millis", max: "1 second" },
      }),
    )
    yield* eventually(seen((all) => all.some((e) => e.type === "SYNCED")))
    // Listed again every backoff (at most a second here) while missing, the stream says so once.
    yield* Effect.sleep("3 seconds")
    assert.deepStrictEqual((yield* seen(() => true)).map(describeEvent), ["SYNCED"])

    yield* client.apply(CustomResourceDefinitions, crd, { fieldManager: "k8s-tests" })
    yield* eventually(client.apply(Gadgets, { metadata: { name: "g", namespace }, spec: { size: 1 } }), "60 seconds")
    yield* eventually(
      seen((all) => all.some((e) => e.type === "ADDED")),
      "30 seconds",
    )

    yield* client.delete(CustomResourceDefinitions, { name: crd.metadata.name })
    const all = yield* eventually(
      seen((all) => all.some((e) => e.type === "DELETED")),
      "60 seconds",
    )
    const described = all.map(describeEvent)
    assert.isAbove(described.indexOf("ADDED g"), 0)
    assert.isBelow(described.indexOf("ADDED g"), described.indexOf("DELETED g"))
  })
})
