// The planner's entry points for objects read from the API server: semantic checks before anything is planned.
import { describe, expect, it } from "vitest"
import { checkWorkspace, planUnknown } from "../src/plan/planner.js"
import { nothing, raw } from "./fixtures.js"

describe("semantic checks", () => {
  it("refuses a resource request above its limit, with the path, before planning anything", () => {
    const workspace = raw({
      server: { resources: { requests: { cpu: "2", memory: "1Gi" }, limits: { cpu: "1500m", memory: "2Gi" } } },
      agentPools: [{ name: "default", resources: { requests: { memory: "1025Mi" }, limits: { memory: "1Gi" } } }],
    })
    const checked = checkWorkspace(workspace)
    expect(checked.ok).toBe(false)
    if (checked.ok) return
    expect(checked.issues.map((i) => i.path)).toEqual([
      "spec.workflows.agentPools[0].resources.requests.memory",
      "spec.workflows.server.resources.requests.cpu",
    ])
    const p = planUnknown(workspace, nothing)
    expect(p.apply).toEqual([])
    expect(p.prune).toEqual([])
    expect(p.status.conditions?.find((c) => c.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "InvalidSpec",
    })
  })

  it("accepts equal requests and limits, quantities written differently, and a request without a limit", () => {
    const checked = checkWorkspace(
      raw({
        server: { resources: { requests: { cpu: "500m", memory: "1024Mi" }, limits: { cpu: "0.5", memory: "1Gi" } } },
        database: { resources: { requests: { cpu: "4" } } },
      }),
    )
    expect(checked.ok).toBe(true)
  })
})
