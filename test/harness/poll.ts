// Waiting for something to become true, the one way the tests do it: try it, and again at a fixed interval, until
// it succeeds or the time is up; then fail with the last reason it gave. `eventually` is the Effect form;
// `pollUntil` is the same loop for Promise code (the harness, the end-to-end suites).
import { Duration, Effect, Schedule } from "effect"

/** Runs `effect` until it succeeds, at most `timeout` (default 60 s), every `interval` (default 250 ms). */
export const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  timeout: Duration.Input = "60 seconds",
  interval: Duration.Input = "250 millis",
): Effect.Effect<A, E, R> =>
  effect.pipe(
    Effect.retry(Schedule.spaced(interval).pipe(Schedule.upTo({ duration: Duration.fromInputUnsafe(timeout) }))),
  )

export interface PollOptions {
  readonly timeoutMs: number
  /** Default 200 ms. */
  readonly intervalMs?: number
  /** More to say when it fails (logs of the processes involved). */
  readonly describe?: () => string | Promise<string>
  /** A reason to stop waiting at once (the process that should answer has exited), or `undefined`. */
  readonly abort?: () => string | undefined
}

/** Why `check` did not succeed yet: its error, or that it answered `undefined` or `false`. */
class NotYet {
  constructor(
    readonly reason: string,
    readonly aborted: string | undefined,
  ) {}
}

/**
 * Calls `check` until it returns something other than `undefined` or `false`, and resolves with that; fails naming
 * `what`, the last reason and what `describe` adds.
 */
export const pollUntil = async <A>(
  what: string,
  check: () => Promise<A | undefined | false>,
  options: PollOptions,
): Promise<A> => {
  const attempt = Effect.tryPromise({
    try: check,
    catch: (error) => (error instanceof Error ? error.message : String(error)),
  }).pipe(
    Effect.flatMap((result) =>
      result === undefined || result === false ? Effect.fail("not yet") : Effect.succeed(result),
    ),
    Effect.mapError((reason) => new NotYet(reason, options.abort?.())),
  )
  const waited = attempt.pipe(
    Effect.retry({
      schedule: Schedule.spaced(Duration.millis(options.intervalMs ?? 200)).pipe(
        Schedule.upTo({ duration: Duration.millis(options.timeoutMs) }),
      ),
      while: (notYet) => notYet.aborted === undefined,
    }),
  )
  const result = await Effect.runPromise(Effect.result(waited))
  if (result._tag === "Success") return result.success
  const { reason, aborted } = result.failure
  const more = options.describe === undefined ? "" : `\n${await options.describe()}`
  throw new Error(`${what}: ${aborted ?? `not within ${options.timeoutMs} ms`} (last: ${reason})${more}`)
}
