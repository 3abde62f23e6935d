// The Schema on what a Workspace says about its components' pods: each refusal with its exact path and message, and
// the acceptance of every new field set as a team would set it (the CRD is checked against the same tables in
// test/chaos/podFieldRules.it.test.ts).
import { describe, expect, it } from "vitest"
import { validateWorkspace } from "../src/index.js"
import { badPodFields, goodPodFields } from "../testing/index.js"

describe("placement, pod metadata, envFrom, volumes, identity and the Job template", () => {
  for (const [what, document, path, message] of badPodFields) {
    it(`refuses ${what}, at its path`, () => {
      const result = validateWorkspace(document)
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.issues).toContainEqual({ path, message })
    })
  }

  for (const [what, document] of goodPodFields) {
    it(`accepts ${what}`, () => {
      const result = validateWorkspace(document)
      expect(result.ok ? [] : result.issues).toEqual([])
    })
  }

  it("fills in a pool's disruption budget: on, one worker at a time", () => {
    const result = validateWorkspace(goodPodFields[1]?.[1])
    expect(result.ok && result.value.spec.workflows.agentPools[0]?.podDisruptionBudget).toEqual({
      enabled: true,
      maxUnavailable: 1,
    })
  })
})
