import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Fiber, Random } from "effect"
import { TestClock } from "effect/testing"
import * as WorkQueue from "../../src/engine/WorkQueue.js"

const { Outcome } = WorkQueue

/** Lets every runnable fiber run until it waits (the queue's workers and the handlers they forked). */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

/** A handler that records what ran when, answering with `outcome(key, attempt)`. */
const recording = (outcome: (key: string, attempt: number) => Effect.Effect<WorkQueue.Outcome> | WorkQueue.Outcome) => {
  const runs: Array<{ readonly key: string; readonly at: number }> = []
  const attempts = new Map<string, number>()
  const handler = (key: string) =>
    Effect.gen(function* () {
      const attempt = (attempts.get(key) ?? 0) + 1
      attempts.set(key, attempt)
      runs.push({ key, at: yield* Clock.currentTimeMillis })
      const result = outcome(key, attempt)
      return Effect.isEffect(result) ? yield* result : result
    })
  return { runs, handler, attempts }
}

/** A queue made with `options` whose workers run a `recording` handler answering `outcome`, for the rest of the test. */
const runningQueue = (options: WorkQueue.WorkQueueOptions, outcome: Parameters<typeof recording>[0]) =>
  Effect.gen(function* () {
    const queue = yield* WorkQueue.make(options)
    const recorded = recording(outcome)
    yield* Effect.forkChild(queue.run(recorded.handler))
    return { queue, ...recorded }
  })

/**
 * A `recording` handler whose runs succeed, those `held` picks (by attempt) only once `release` has run; `concurrency`
 * counts the runs under way and the most there ever were at once.
 */
const holding = (held: (attempt: number) => boolean) =>
  Effect.gen(function* () {
    const released = yield* Deferred.make<void>()
    const concurrency = { running: 0, max: 0 }
    const recorded = recording((_, attempt) =>
      Effect.gen(function* () {
        concurrency.running++
        concurrency.max = Math.max(concurrency.max, concurrency.running)
        if (held(attempt)) yield* Deferred.await(released)
        concurrency.running--
        return Outcome.success
      }),
    )
    return { ...recorded, release: Deferred.succeed(released, undefined), concurrency }
  })

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - (times[i] ?? 0))

describe("WorkQueue", () => {
  it.effect("runs a key added several times before it is taken only once", () =>
    Effect.gen(function* () {
      const queue = yield* WorkQueue.make()
      const { runs, handler } = recording(() => Outcome.success)
      yield* queue.add("ns/a")
      yield* queue.add("ns/a")
      yield* queue.add("ns/a", "low")
      assert.strictEqual(yield* queue.depth, 1)
      yield* Effect.forkChild(queue.run(handler))
      yield* settle
      assert.deepStrictEqual(
        runs.map((r) => r.key),
        ["ns/a"],
      )
    }),
  )

  it.effect("never runs one key twice at once, and runs it again after a change that arrived meanwhile", () =>
    Effect.gen(function* () {
      const queue = yield* WorkQueue.make({ concurrency: 4 })
      const { runs, handler, release, concurrency } = yield* holding((attempt) => attempt === 1)
      yield* Effect.forkChild(queue.run(handler))
      yield* queue.add("ns/a")
      yield* settle
      yield* queue.add("ns/a")
      yield* queue.add("ns/a")
      yield* settle
      assert.strictEqual(runs.length, 1, "the second add waits for the first run")
      assert.deepStrictEqual(yield* queue.inFlight, ["ns/a"])
      yield* release
      yield* settle
      assert.strictEqual(runs.length, 2, "one more run for the adds made during the first")
      assert.strictEqual(concurrency.max, 1)
    }),
  )

  it.effect("runs different keys concurrently, never more than the concurrency limit", () =>
    Effect.gen(function* () {
      const queue = yield* WorkQueue.make({ concurrency: 2 })
      const { runs, handler, release, concurrency } = yield* holding(() => true)
      yield* Effect.forkChild(queue.run(handler))
      for (const key of ["a", "b", "c", "d", "e"]) yield* queue.add(key)
      yield* settle
      assert.strictEqual(concurrency.running, 2)
      assert.strictEqual(yield* queue.depth, 3)
      yield* release
      yield* settle
      assert.strictEqual(runs.length, 5)
      assert.strictEqual(concurrency.max, 2)
    }),
  )

  it.effect("retries a failing key with exponential backoff from 5 ms up to the 5 minute cap", () =>
    Effect.gen(function* () {
      const { queue, runs } = yield* runningQueue({ backoffJitter: 0 }, () => Outcome.error("down"))
      yield* queue.add("a")
      yield* settle
      for (let i = 0; i < 20; i++) yield* TestClock.adjust("5 minutes")
      const delays = gaps(runs.map((r) => r.at))
      // 5 ms × 2^n: 5, 10, 20, … 163840 ms, then capped at 300000 ms.
      assert.deepStrictEqual(
        delays.slice(0, 16),
        [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960, 81920, 163840],
      )
      assert.isTrue(delays.slice(16).every((d) => d === 300_000))
      assert.strictEqual(yield* queue.failures("a"), runs.length)
    }),
  )

  it.effect.each([1, 7, 42])(
    "draws each retry delay d from (d/2, d] so that keys failing together spread out (seed %i)",
    (seed) =>
      Effect.gen(function* () {
        const { queue, runs } = yield* runningQueue({}, () => Outcome.error("down"))
        yield* queue.add("a")
        yield* settle
        for (let i = 0; i < 40; i++) yield* TestClock.adjust("10 seconds")
        const delays = gaps(runs.map((r) => r.at))
        assert.isAbove(delays.length, 10)
        delays.forEach((delay, n) => {
          const nominal = Math.min(300_000, 5 * 2 ** n)
          assert.isAbove(delay, nominal / 2 - 1, `retry ${n + 1}`)
          assert.isAtMost(delay, nominal, `retry ${n + 1}`)
        })
      }).pipe(Random.withSeed(seed)),
  )

  it.effect("resets the backoff after a success", () =>
    Effect.gen(function* () {
      // Fails 4 times, succeeds, then fails again.
      const { queue, runs } = yield* runningQueue({ backoffJitter: 0 }, (_, attempt) =>
        attempt === 5 ? Outcome.success : Outcome.error("down"),
      )
      yield* queue.add("a")
      yield* settle
      yield* TestClock.adjust("1 second")
      assert.strictEqual(runs.length, 5)
      assert.strictEqual(yield* queue.failures("a"), 0)
      yield* queue.add("a")
      yield* settle
      yield* TestClock.adjust("5 millis")
      assert.strictEqual(runs.length, 7, "the first retry after the success waits 5 ms again")
    }),
  )

  it.effect("keeps other keys moving while one key fails again and again", () =>
    Effect.gen(function* () {
      const { queue, runs } = yield* runningQueue({ concurrency: 1, backoffJitter: 0 }, (key) =>
        key === "broken" ? Outcome.error("always") : Outcome.success,
      )
      yield* queue.add("broken")
      yield* settle
      for (let i = 0; i < 10; i++) {
        yield* queue.add(`fine-${i}`)
        yield* TestClock.adjust("1 millis")
      }
      const fine = runs.filter((r) => r.key.startsWith("fine"))
      assert.strictEqual(fine.length, 10)
      // Each ran within the millisecond it was added: the failing key only ever waits in its own backoff.
      for (const [i, r] of fine.entries()) assert.isAtMost(r.at, i + 1)
    }),
  )

  it.effect("does not retry a terminal error", () =>
    Effect.gen(function* () {
      const { queue, runs } = yield* runningQueue({}, () => Outcome.terminal("invalid spec"))
      yield* queue.add("a")
      yield* settle
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(runs.length, 1)
      assert.strictEqual(yield* queue.failures("a"), 0)
    }),
  )

  it.effect("queues a progressing key again after the delay it asked for, forgetting its failures", () =>
    Effect.gen(function* () {
      const { queue, runs } = yield* runningQueue({ backoffJitter: 0 }, (_, attempt) =>
        attempt <= 2 ? Outcome.error("down") : attempt === 3 ? Outcome.requeueAfter("30 seconds") : Outcome.success,
      )
      yield* queue.add("a")
      yield* settle
      yield* TestClock.adjust("15 millis")
      assert.strictEqual(runs.length, 3)
      assert.strictEqual(yield* queue.failures("a"), 0)
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual(runs.length, 3)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(runs.length, 4)
      assert.strictEqual((runs[3]?.at ?? 0) - (runs[2]?.at ?? 0), 30_000)
    }),
  )

  it.effect("never retries sooner than the server's Retry-After", () =>
    Effect.gen(function* () {
      const { queue, runs } = yield* runningQueue({ backoffJitter: 0 }, (_, attempt) =>
        attempt === 1 ? Outcome.error("throttled", Duration.seconds(7)) : Outcome.success,
      )
      yield* queue.add("a")
      yield* settle
      yield* TestClock.adjust("6999 millis")
      assert.strictEqual(runs.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(runs.length, 2)
    }),
  )

  it.effect("keeps the earlier of two delayed adds, and an immediate add replaces a pending delayed one", () =>
    Effect.gen(function* () {
      const { queue, runs } = yield* runningQueue({}, () => Outcome.success)
      yield* queue.addAfter("a", "10 seconds")
      yield* queue.addAfter("a", "1 minute")
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(runs.length, 1, "due at 10 s, not postponed to 1 min")
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(runs.length, 1, "the later add was dropped")
      yield* queue.addAfter("b", "1 minute")
      yield* queue.add("b")
      yield* settle
      yield* TestClock.adjust("2 minutes")
      assert.deepStrictEqual(
        runs.map((r) => r.key),
        ["a", "b"],
      )
    }),
  )

  it.effect("takes keys from real changes before keys from an initial list or a resync", () =>
    Effect.gen(function* () {
      const queue = yield* WorkQueue.make({ concurrency: 1 })
      const { runs, handler } = recording(() => Outcome.success)
      yield* queue.add("resync-1", "low")
      yield* queue.add("resync-2", "low")
      yield* queue.add("resync-3", "low")
      yield* queue.add("edit")
      yield* queue.add("resync-3") // a real change to a key already queued by the resync
      yield* Effect.forkChild(queue.run(handler))
      yield* settle
      assert.deepStrictEqual(
        runs.map((r) => r.key),
        ["edit", "resync-3", "resync-1", "resync-2"],
      )
    }),
  )

  it.effect("runs a key again whose run ended without an outcome, and keeps working", () =>
    Effect.gen(function* () {
      const { queue, runs } = yield* runningQueue({ backoffJitter: 0 }, (key, attempt) =>
        attempt === 1 && key === "dies" ? Effect.die(new Error("bug")) : Outcome.success,
      )
      yield* queue.add("dies")
      yield* queue.add("fine")
      yield* settle
      assert.deepStrictEqual(runs.map((r) => r.key).sort(), ["dies", "dies", "fine"])
      assert.strictEqual(yield* queue.failures("dies"), 0)
    }),
  )

  it.effect("on shutdown stops taking keys and lets in-flight runs finish within the grace period", () =>
    Effect.gen(function* () {
      const queue = yield* WorkQueue.make({ concurrency: 2, shutdownGrace: "30 seconds" })
      let finished = 0
      const { runs, handler } = recording((key) =>
        Effect.sleep(key === "slow" ? "10 seconds" : "0 millis").pipe(
          Effect.andThen(Effect.sync(() => finished++)),
          Effect.as(Outcome.success),
        ),
      )
      const fiber = yield* Effect.forkChild(queue.run(handler))
      yield* queue.add("slow")
      yield* settle
      const stopping = yield* Effect.forkChild(Fiber.interrupt(fiber))
      yield* settle
      yield* queue.add("later")
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(stopping)
      assert.strictEqual(finished, 1, "the in-flight run completed")
      assert.deepStrictEqual(
        runs.map((r) => r.key),
        ["slow"],
        "no key taken after shutdown began",
      )
      assert.strictEqual(yield* queue.depth, 1, "the key added during shutdown waits for the next run")
    }),
  )

  it.effect("interrupts in-flight runs still going at the end of the grace period, keeping their keys queued", () =>
    Effect.gen(function* () {
      const queue = yield* WorkQueue.make({ shutdownGrace: "5 seconds" })
      let finished = false
      const { handler } = recording(() =>
        Effect.sleep("1 hour").pipe(Effect.andThen(Effect.sync(() => (finished = true))), Effect.as(Outcome.success)),
      )
      const fiber = yield* Effect.forkChild(queue.run(handler))
      yield* queue.add("stuck")
      yield* settle
      const stopping = yield* Effect.forkChild(Fiber.interrupt(fiber))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(stopping)
      yield* settle
      assert.isFalse(finished)
      assert.deepStrictEqual(yield* queue.inFlight, [])
      assert.strictEqual(yield* queue.depth, 1, "the interrupted key runs again under the next leader")
    }),
  )

  it.effect("reports adds, retries and depth to the observer", () =>
    Effect.gen(function* () {
      const events: Array<WorkQueue.QueueEvent> = []
      const queue = yield* WorkQueue.make({ onEvent: (e) => events.push(e), backoffJitter: 0 })
      const { handler } = recording((_, attempt) => (attempt === 1 ? Outcome.error("x") : Outcome.success))
      yield* queue.add("a")
      yield* queue.add("a")
      yield* Effect.forkChild(queue.run(handler))
      yield* settle
      yield* TestClock.adjust("5 millis")
      assert.deepStrictEqual(events, [
        { type: "add", key: "a" },
        { type: "depth", depth: 1 },
        { type: "depth", depth: 0 },
        { type: "retry", key: "a" },
        { type: "add", key: "a" },
        { type: "depth", depth: 1 },
        { type: "depth", depth: 0 },
      ])
    }),
  )
})
