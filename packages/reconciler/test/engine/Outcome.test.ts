// The one mapping from a reconcile's end to the work queue's next step.
import { Cause, Duration, Exit, Option } from "effect"
import { describe, expect, it } from "vitest"
import { outcomeOf, resultOf } from "../../src/engine/Outcome.js"
import { Result } from "../../src/engine/Reconcile.js"
import { ApiUnavailable, ChildRejected, InvalidSpec, ReconcileError } from "../../src/engine/ReconcileError.js"

const timeout = Duration.minutes(5)
const ended = (result: Result) => outcomeOf("ns/ws", timeout, Exit.succeed(Option.some(result)))
const failed = (reason: ReconcileError["reason"]) =>
  outcomeOf("ns/ws", timeout, Exit.fail(new ReconcileError({ reason })))

describe("a reconcile's outcome", () => {
  it("forgets the key after a result, or looks again when the result asks", () => {
    expect(ended(Result.done)).toEqual({ _tag: "Success" })
    expect(ended(Result.requeueAfter(Duration.seconds(30)))).toEqual({
      _tag: "RequeueAfter",
      delay: Duration.seconds(30),
    })
    expect(resultOf(ended(Result.done))).toBe("success")
    expect(resultOf(ended(Result.requeueAfter(Duration.seconds(1))))).toBe("requeue")
  })

  it("retries a retryable error with backoff, no sooner than the server asked", () => {
    const outcome = failed(new ApiUnavailable({ key: "ns/ws", message: "503", retryAfterSeconds: 7 }))
    expect(outcome._tag).toBe("Error")
    expect(outcome._tag === "Error" && outcome.retryAfter).toEqual(Duration.seconds(7))
    expect(resultOf(outcome)).toBe("error")
  })

  it("makes an error that retrying cannot fix terminal", () => {
    for (const reason of [
      new InvalidSpec({ key: "ns/ws", message: "spec.workflows: bad" }),
      new ChildRejected({ key: "ns/ws", object: "Role r", message: "invalid", external: false }),
    ]) {
      const outcome = failed(reason)
      expect(outcome._tag).toBe("Terminal")
      expect(resultOf(outcome)).toBe("terminal")
    }
  })

  it("retries a reconcile that died or passed its timeout, as an error", () => {
    const died = outcomeOf("ns/ws", timeout, Exit.failCause(Cause.die(new Error("bug"))))
    expect(died._tag).toBe("Error")
    expect(died._tag === "Error" && died.error).toEqual(new Error("bug"))
    const stuck = outcomeOf("ns/ws", timeout, Exit.succeed(Option.none()))
    expect(stuck._tag).toBe("Error")
    expect(stuck._tag === "Error" && String(stuck.error)).toBe("reconcile of ns/ws took longer than 5m")
  })
})
