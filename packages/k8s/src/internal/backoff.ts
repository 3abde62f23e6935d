/**
 * Reconnect backoff for watches (client-go's reflector numbers): 0.8 s doubling to a 30 s cap, each delay
 * stretched by a random factor in [1, 1 + jitter) but never beyond the cap, reset once the previous failure is
 * more than `resetAfter` (2 min) ago — i.e. after a stable period — and never shorter than a server-sent
 * `Retry-After`. It never ends: a watch never gives up.
 */
import { Duration, Effect, Random, Schedule } from "effect"
import { K8sError } from "../K8sError.js"

export interface BackoffOptions {
  /** First delay. Default 800 milliseconds. */
  readonly initial?: Duration.Input | undefined
  /** Longest delay, jitter included. Default 30 seconds. */
  readonly max?: Duration.Input | undefined
  /** Growth per consecutive failure. Default 2. */
  readonly factor?: number | undefined
  /** Each delay is multiplied by a random factor in [1, 1 + jitter). Default 1 (client-go). */
  readonly jitter?: number | undefined
  /** A failure this long after the previous one starts again from `initial`. Default 2 minutes. */
  readonly resetAfter?: Duration.Input | undefined
}

const millis = (input: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(input))

/** The server's `Retry-After` carried by a `K8sError` input, if any. */
const retryAfterMillis = (input: unknown): number | undefined => {
  if (!(input instanceof K8sError)) return undefined
  const retryAfter = input.retryAfter
  return retryAfter === undefined ? undefined : Duration.toMillis(retryAfter)
}

/**
 * The reconnect schedule. Its input is the failure (a `K8sError` carrying `retryAfter`, or anything else); its
 * output is the delay it chose.
 */
export const reconnectSchedule = (options: BackoffOptions = {}): Schedule.Schedule<Duration.Duration, unknown> => {
  const initial = millis(options.initial ?? "800 millis")
  const max = millis(options.max ?? "30 seconds")
  const factor = options.factor ?? 2
  const jitter = options.jitter ?? 1
  const resetAfter = millis(options.resetAfter ?? "2 minutes")
  return Schedule.fromStepWithMetadata(
    Effect.sync(() => {
      let failures = 0
      return (meta: Schedule.InputMetadata<unknown>) =>
        Effect.gen(function* () {
          if (meta.attempt > 1 && meta.elapsedSincePrevious >= resetAfter) failures = 0
          const nominal = Math.min(max, initial * factor ** failures)
          failures++
          const random = yield* Random.next
          const jittered = Math.min(max, nominal * (1 + jitter * random))
          const delay = Duration.millis(Math.max(jittered, retryAfterMillis(meta.input) ?? 0))
          return [delay, delay] as [Duration.Duration, Duration.Duration]
        })
    }),
  )
}
