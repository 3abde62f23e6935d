// Writing status: the Events a status change records, and how execution problems read in Degraded.
import { describe, expect, it } from "vitest"
import { ChildRejected } from "../../src/engine/ReconcileError.js"
import { executionProblem, transitionEvents } from "../../src/engine/WriteStatus.js"

describe("Events on status transitions", () => {
  const status = (ready: string, degraded: string, degradedReason = "AsExpected") =>
    ({
      conditions: [
        {
          type: "Ready",
          status: ready,
          reason: ready === "True" ? "AllComponentsReady" : "ServerNotReady",
          message: "r",
          lastTransitionTime: "t",
        },
        { type: "Degraded", status: degraded, reason: degradedReason, message: "d", lastTransitionTime: "t" },
      ],
    }) as never

  it("records one Normal event when a Workspace becomes Ready, none for the steps on the way", () => {
    expect(transitionEvents(undefined, status("False", "False"))).toEqual([])
    expect(transitionEvents(status("False", "False"), status("True", "False"))).toEqual([
      { type: "Normal", reason: "AllComponentsReady", note: "r" },
    ])
    expect(transitionEvents(status("True", "False"), status("True", "False"))).toEqual([])
  })

  it("warns when Ready is lost and when Degraded is raised or changes reason; notes the recovery", () => {
    expect(transitionEvents(status("True", "False"), status("False", "False"))).toEqual([
      { type: "Warning", reason: "ServerNotReady", note: "r" },
    ])
    expect(transitionEvents(status("True", "False"), status("True", "True", "ApplyRejected"))).toEqual([
      { type: "Warning", reason: "ApplyRejected", note: "d" },
    ])
    expect(
      transitionEvents(status("True", "True", "ApplyRejected"), status("True", "True", "MigrationFailed")),
    ).toEqual([{ type: "Warning", reason: "MigrationFailed", note: "d" }])
    expect(transitionEvents(status("True", "True", "ApplyRejected"), status("True", "False"))).toEqual([
      { type: "Normal", reason: "Recovered", note: "No longer degraded (was ApplyRejected)" },
    ])
  })
})

describe("execution problems", () => {
  const refused = (object: string, message: string) =>
    new ChildRejected({ key: "ns/ws", object, message, external: false })

  it("read the same whatever order the API server's answers arrived in", () => {
    const a = refused("Role ws-agent-b", 'namespaces "jobs" not found')
    const b = refused("Deployment ws-agent-a", "spec.replicas: Invalid value")
    expect(executionProblem([a, b], [])).toEqual(executionProblem([b, a], []))
    expect(executionProblem([a, b], [])).toEqual({
      reason: "ApplyRejected",
      message:
        'The API server refused Deployment ws-agent-a: spec.replicas: Invalid value; Role ws-agent-b: namespaces "jobs" not found',
    })
    expect(executionProblem([], ["Service b is controlled by another owner", "Deployment a is too"])).toEqual({
      reason: "OwnershipConflict",
      message: "Not touched: Deployment a is too; Service b is controlled by another owner",
    })
  })

  it("name refusals before conflicts, and nothing when execution met no problem", () => {
    expect(executionProblem([refused("Role r", "forbidden")], ["Service s is controlled"])?.reason).toBe(
      "ApplyRejected",
    )
    expect(executionProblem([], [])).toBeUndefined()
  })
})
