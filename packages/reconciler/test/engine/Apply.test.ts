// Executing a plan's applies: the order of the waves.
import { describe, expect, it } from "vitest"
import { waves } from "../../src/engine/Apply.js"
import { planUnknown } from "../../src/plan/planner.js"
import { nothing, raw } from "../fixtures.js"

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
