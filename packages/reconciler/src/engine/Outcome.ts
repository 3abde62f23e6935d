/**
 * The one place a reconcile's end becomes the work queue's next step (controller-runtime's reconcile handler):
 *
 * - a `Result` forgets the key's failures, and may ask for another look after a while (`RequeueAfter`);
 * - a retryable `ReconcileError` retries the key with backoff, never sooner than the server asked (`Error`);
 * - any other `ReconcileError` is `Terminal`: retrying cannot help, the key waits for the next change or resync;
 * - a defect (a bug in a reconcile) and a reconcile past its timeout (stuck) are retried like errors, never a crash
 *   of the workers.
 */
import { Cause, Duration, Exit, Option } from "effect"
import type { Result } from "./Reconcile.js"
import type { ReconcileError } from "./ReconcileError.js"
import { Outcome } from "./WorkQueue.js"

/** How a reconcile ended, as the engine's observer and metrics name it. */
export type ReconcileResult = "success" | "error" | "requeue" | "terminal"

/** The queue's outcome of a reconcile of `key` that ended with `exit` (`None`: it passed `timeout`). */
export const outcomeOf = (
  key: string,
  timeout: Duration.Duration,
  exit: Exit.Exit<Option.Option<Result>, ReconcileError>,
): Outcome => {
  if (Exit.isSuccess(exit)) {
    if (Option.isNone(exit.value)) {
      return Outcome.error(`reconcile of ${key} took longer than ${Duration.format(timeout)}`)
    }
    const { requeueAfter } = exit.value.value
    return requeueAfter === undefined ? Outcome.success : Outcome.requeueAfter(requeueAfter)
  }
  const failure = exit.cause.reasons.find(Cause.isFailReason)
  if (failure === undefined) return Outcome.error(Cause.squash(exit.cause))
  const error = failure.error
  return error.isRetryable ? Outcome.error(error, error.retryAfter) : Outcome.terminal(error)
}

export const resultOf = (outcome: Outcome): ReconcileResult => {
  switch (outcome._tag) {
    case "Success":
      return "success"
    case "Error":
      return "error"
    case "RequeueAfter":
      return "requeue"
    case "Terminal":
      return "terminal"
  }
}
