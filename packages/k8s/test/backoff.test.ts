import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Random, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { reconnectSchedule } from "../src/internal/backoff.js"
import { K8sError, TooManyRequests, Unavailable } from "../src/K8sError.js"

const failure = new K8sError({ reason: new Unavailable({ message: "down" }) })

/** Runs the schedule's step at the given instants (ms) and returns the chosen delays (ms). */
const delaysAt = (
  schedule: Schedule.Schedule<Duration.Duration, unknown>,
  instants: ReadonlyArray<number>,
  input: unknown = failure,
) =>
  Effect.gen(function* () {
    const step = yield* Schedule.toStep(schedule)
    const delays: Array<number> = []
    for (const now of instants) {
      const [, delay] = yield* step(now, input)
      delays.push(Duration.toMillis(delay))
    }
    return delays
  })

describe("watch reconnect backoff", () => {
  it.effect("doubles from 0.8 s to a 30 s cap without jitter", () =>
    Effect.gen(function* () {
      const delays = yield* delaysAt(reconnectSchedule({ jitter: 0 }), [0, 1, 2, 3, 4, 5, 6, 7, 8])
      assert.deepStrictEqual(delays, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000])
    }),
  )

  it.effect.each([1, 2, 3, 42, 1234])("keeps jittered delays within [d, min(2d, 30 s)] (seed %i)", (seed) =>
    Effect.gen(function* () {
      const delays = yield* delaysAt(reconnectSchedule(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      delays.forEach((delay, n) => {
        const nominal = Math.min(30_000, 800 * 2 ** n)
        assert.isAtLeast(delay, nominal, `attempt ${n}`)
        assert.isAtMost(delay, Math.min(30_000, 2 * nominal), `attempt ${n}`)
      })
    }).pipe(Random.withSeed(seed)),
  )

  it.effect("starts again from 0.8 s after two minutes without a failure", () =>
    Effect.gen(function* () {
      const delays = yield* delaysAt(reconnectSchedule({ jitter: 0 }), [0, 1_000, 3_000, 3_000 + 120_000, 124_000])
      assert.deepStrictEqual(delays, [800, 1600, 3200, 800, 1600])
    }),
  )

  it.effect("keeps growing while failures are less than two minutes apart", () =>
    Effect.gen(function* () {
      const delays = yield* delaysAt(reconnectSchedule({ jitter: 0 }), [0, 119_000, 238_000])
      assert.deepStrictEqual(delays, [800, 1600, 3200])
    }),
  )

  it.effect("never waits less than the server's Retry-After", () =>
    Effect.gen(function* () {
      const throttled = new K8sError({ reason: new TooManyRequests({ message: "slow down", retryAfterSeconds: 5 }) })
      const delays = yield* delaysAt(reconnectSchedule({ jitter: 0 }), [0], throttled)
      assert.deepStrictEqual(delays, [5000])
    }),
  )

  it.effect("retries on the TestClock at 0.8, 2.4, 5.6 s … and never gives up", () =>
    Effect.gen(function* () {
      const attempts: Array<number> = []
      const fiber = yield* Effect.gen(function* () {
        attempts.push(yield* Clock.currentTimeMillis)
        return yield* Effect.fail(failure)
      }).pipe(Effect.retry(reconnectSchedule({ jitter: 0 })), Effect.forkChild)

      yield* TestClock.adjust("799 millis")
      assert.deepStrictEqual(attempts, [0])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(attempts, [0, 800])
      yield* TestClock.adjust("1600 millis")
      assert.deepStrictEqual(attempts, [0, 800, 2400])
      yield* TestClock.adjust("3200 millis")
      assert.deepStrictEqual(attempts, [0, 800, 2400, 5600])

      // An hour later it is still retrying, every 30 s at most.
      yield* TestClock.adjust("1 hour")
      assert.isAbove(attempts.length, 100)
      const last = attempts.slice(-5)
      for (let i = 1; i < last.length; i++) assert.strictEqual((last[i] ?? 0) - (last[i - 1] ?? 0), 30_000)
      yield* Fiber.interrupt(fiber)
    }),
  )
})
