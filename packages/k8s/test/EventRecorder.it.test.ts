// The event recorder against the run's real kube-apiserver: events show up in `kubectl get events`, repeats
// become a series, writes are rate-limited, and failures never reach the caller.
import { eventually, kubectl, useNamespace } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { EventRecorder, Kinds, KubeClient } from "../src/index.js"
import type { KubeEvent } from "../src/KubeObject.js"
import { adminRequests, sharedClientSuite } from "./support.js"

const namespace = useNamespace("k8s-events")

const recorderOptions = {
  reportingController: "mlops.aigency.com/cartographer",
  reportingInstance: "cartographer-test",
  seriesUpdateInterval: "1 second",
} as const

const eventsFor = (name: string) =>
  KubeClient.use((client) => client.list(Kinds.Event, { namespace })).pipe(
    Effect.map((list) => list.items.filter((event: KubeEvent) => event.regarding?.name === name)),
  )

sharedClientSuite("Event recorder on a real API server", "120 seconds", (test) => {
  test("records an event that kubectl get events shows", function* (client) {
    const recorder = yield* EventRecorder.make(recorderOptions)
    const object = yield* client.apply(Kinds.ConfigMap, { metadata: { name: "observed", namespace } })
    yield* recorder.record({
      regarding: object,
      type: "Warning",
      reason: "DatabaseUnreachable",
      action: "Reconcile",
      note: "could not reach postgres at observed-orion-database:5432",
    })
    const output = yield* eventually(
      Effect.promise(() => kubectl(["get", "events", "-n", namespace])).pipe(
        Effect.flatMap((result) =>
          result.stdout.includes("DatabaseUnreachable") ? Effect.succeed(result.stdout) : Effect.fail(result.stderr),
        ),
      ),
    )
    assert.include(output, "Warning")
    assert.include(output, "configmap/observed")
    assert.include(output, "could not reach postgres")
    const [event] = yield* eventsFor("observed")
    assert.strictEqual(event?.reportingController, "mlops.aigency.com/cartographer")
    assert.strictEqual(event?.regarding?.uid, object.metadata.uid)
    assert.match(event?.eventTime ?? "", /\.\d{6}Z$/u)
  })

  test("folds repeats into one Event's series instead of creating new ones", function* (client) {
    const recorder = yield* EventRecorder.make(recorderOptions)
    const object = yield* client.apply(Kinds.ConfigMap, { metadata: { name: "flapping", namespace } })
    for (let i = 0; i < 5; i++) {
      yield* recorder.record({
        regarding: object,
        type: "Warning",
        reason: "ApplyFailed",
        action: "Apply",
        note: `attempt ${i}`,
      })
    }
    const events = yield* eventually(
      eventsFor("flapping").pipe(
        Effect.flatMap((events) =>
          events.length === 1 && events[0]?.series?.count === 5
            ? Effect.succeed(events)
            : Effect.fail(JSON.stringify(events)),
        ),
      ),
    )
    assert.strictEqual(events[0]?.note, "attempt 0", "the series keeps its first note")
    assert.match(events[0]?.series?.lastObservedTime ?? "", /\.\d{6}Z$/u)
    const json = yield* Effect.promise(() => kubectl(["get", "events", "-n", namespace, "-o", "json"]))
    assert.include(json.stdout, '"ApplyFailed"')
  })

  test("spaces writes by the rate limit without making the caller wait", function* (client) {
    const recorder = yield* EventRecorder.make({ ...recorderOptions, writesPerSecond: 2, burst: 1 })
    const object = yield* client.apply(Kinds.ConfigMap, { metadata: { name: "busy", namespace } })
    const since = new Date(Date.now() - 1000)
    const started = Date.now()
    for (let i = 0; i < 5; i++) {
      yield* recorder.record({ regarding: object, type: "Normal", reason: `Step${i}`, action: "Reconcile" })
    }
    assert.isBelow(Date.now() - started, 200, "record does not wait for the API")
    yield* eventually(
      eventsFor("busy").pipe(
        Effect.flatMap((events) => (events.length === 5 ? Effect.void : Effect.fail(`${events.length} events`))),
      ),
    )
    const writes = yield* adminRequests({
      resource: "events",
      namespace,
      verbs: ["patch"],
      since,
      where: (event) => (event.objectRef?.name ?? "").startsWith("busy."),
    })
    assert.strictEqual(writes.length, 5)
    const times = writes.map((event) => Date.parse(event.requestReceivedTimestamp)).sort()
    const spread = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000
    // 1 burst token, then one every 0.5 s: the fifth write comes ≥ 2 s after the first.
    assert.isAtLeast(spread, 1.8, `writes spread over ${spread} s`)
  })

  test("never fails the caller when the event cannot be written", function* () {
    const recorder = yield* EventRecorder.make(recorderOptions)
    // The namespace does not exist: the write fails with NotFound, is logged, and is dropped.
    yield* recorder.record({
      regarding: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "ghost", namespace: "no-such-namespace" },
      },
      type: "Normal",
      reason: "Nothing",
      action: "Reconcile",
    })
    yield* Effect.sleep("1 second")
  })
})
