// The planner additions the engine needs: semantic checks before anything is written, and execution problems in
// the status.
import { describe, expect, it } from "vitest"
import { waves } from "../../src/engine/Reconcile.js"
import { checkWorkspace, planUnknown, withExecutionProblem } from "../../src/index.js"
import { inputs, nothing } from "../fixtures.js"

const raw = (workflows: Record<string, unknown>) => ({
  apiVersion: "mlops.aigency.com/v1alpha1",
  kind: "Workspace",
  metadata: { name: "ws", namespace: "prefect", uid: "u", generation: 2 },
  spec: { workflows: { agentPools: [{ name: "default" }], ...workflows } },
})

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

describe("execution problems in the status", () => {
  const planned = planUnknown(raw({}), nothing).status

  it("replace Degraded with the engine's reason and keep the other conditions", () => {
    const status = withExecutionProblem(
      planned,
      { reason: "ApplyRejected", message: "Role x: namespace not found" },
      { now: "2025-06-01T13:00:00Z", previous: planned },
    )
    const byType = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c]))
    expect(byType.Degraded).toMatchObject({
      status: "True",
      reason: "ApplyRejected",
      message: "Role x: namespace not found",
      lastTransitionTime: "2025-06-01T13:00:00Z",
      observedGeneration: 2,
    })
    expect(byType.Ready).toEqual(planned.conditions?.find((c) => c.type === "Ready"))
  })

  it("keep lastTransitionTime while Degraded stays True", () => {
    const first = withExecutionProblem(
      planned,
      { reason: "OwnershipConflict", message: "a" },
      { now: inputs.now, previous: undefined },
    )
    const second = withExecutionProblem(
      planned,
      { reason: "ApplyRejected", message: "b" },
      { now: "2030-01-01T00:00:00Z", previous: first },
    )
    expect(second.conditions?.find((c) => c.type === "Degraded")?.lastTransitionTime).toBe(inputs.now)
  })
})

describe("apply waves", () => {
  it("puts the Secret alone first, then what workloads refer to, then workloads and RoleBindings", () => {
    const planned = planUnknown(
      raw({ agentPools: [{ name: "default" }, { name: "k", type: "kubernetes" }] }),
      nothing,
    ).apply
    const kinds = waves(planned).map((wave) => [...new Set(wave.map((o) => o.kind))].sort())
    expect(kinds).toEqual([
      ["Secret"],
      ["NetworkPolicy", "PersistentVolumeClaim", "Role", "Service", "ServiceAccount"],
      ["Deployment", "Job", "RoleBinding", "StatefulSet"],
    ])
    expect(waves(planned).flat()).toHaveLength(planned.length)
  })
})
