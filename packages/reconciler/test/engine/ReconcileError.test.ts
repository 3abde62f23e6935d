import {
  Conflict,
  Forbidden,
  Invalid,
  K8sError,
  NotFound,
  TooManyRequests,
  Transport,
  Unauthorized,
} from "@cartographer/k8s"
import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import { classify, ReconcileError } from "../../src/engine/ReconcileError.js"

const failed = (reason: K8sError["reason"]) => new K8sError({ reason, operation: "apply apps/v1 Deployment ns/x" })
const tagOf = (reason: K8sError["reason"]) => classify("ns/ws", "Deployment x", failed(reason))._tag

describe("classifying a failed request while reconciling", () => {
  it("retries what may pass: connection errors, conflicts, an expiring token, RBAC denials", () => {
    expect(tagOf(new Transport({ message: "ECONNREFUSED", code: "ECONNREFUSED" }))).toBe("ApiUnavailable")
    expect(tagOf(new Conflict({ message: "stale", causes: [] }))).toBe("ApiUnavailable")
    expect(tagOf(new Unauthorized({ message: "expired", status: 401 }))).toBe("ApiUnavailable")
    // What a restarted API server answers until its authorizer has synced.
    expect(
      tagOf(
        new Forbidden({
          message:
            'statefulsets.apps "x" is forbidden: User "system:serviceaccount:ns:cartographer" cannot patch resource "statefulsets" in API group "apps" in the namespace "ns"',
          status: 403,
        }),
      ),
    ).toBe("ApiUnavailable")
  })

  it("gives up on what cannot succeed: invalid objects, policy refusals, missing namespaces, ownership conflicts", () => {
    expect(tagOf(new Invalid({ message: "spec.selector: immutable", causes: [] }))).toBe("ChildRejected")
    expect(tagOf(new NotFound({ message: 'namespaces "jobs" not found', status: 404 }))).toBe("ChildRejected")
    expect(
      tagOf(
        new Forbidden({
          message: "unable to create new content in namespace ns because it is being terminated",
          status: 403,
        }),
      ),
    ).toBe("ChildRejected")
    expect(tagOf(new Forbidden({ message: "exceeded quota: compute, requested: cpu=2", status: 403 }))).toBe(
      "ChildRejected",
    )
    expect(
      tagOf(new Conflict({ message: "conflict", causes: [{ reason: "FieldManagerConflict", field: ".spec" }] })),
    ).toBe("ChildRejected")
  })

  it("marks as external what a change outside the Workspace can fix (a namespace, a quota, a policy), to be rechecked", () => {
    const external = (reason: K8sError["reason"]) => {
      const classified = classify("ns/ws", "x", failed(reason))
      return classified._tag === "ChildRejected" && classified.external
    }
    expect(external(new NotFound({ message: 'namespaces "jobs" not found', status: 404 }))).toBe(true)
    expect(external(new Forbidden({ message: "exceeded quota: compute, requested: cpu=2", status: 403 }))).toBe(true)
    expect(external(new Invalid({ message: "spec.selector: immutable", causes: [] }))).toBe(false)
    expect(
      external(new Conflict({ message: "conflict", causes: [{ reason: "FieldManagerConflict", field: ".spec" }] })),
    ).toBe(false)
  })

  it("carries the server's Retry-After to the queue", () => {
    const reason = classify("ns/ws", "x", failed(new TooManyRequests({ message: "slow down", retryAfterSeconds: 7 })))
    const error = new ReconcileError({ reason })
    expect(error.isRetryable).toBe(true)
    expect(error.retryAfter).toEqual(Duration.seconds(7))
  })
})
