import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Defaults from "../src/defaults.js"
import { decodeWorkspace, encodeWorkspace, validateWorkspace } from "../src/validate.js"
import { workspaceDocument } from "../testing/index.js"
import { base, withChange } from "./fixtures.js"

describe("Workspace Schema", () => {
  it("accepts the original Cartographer spec unchanged and fills every default", () => {
    const result = validateWorkspace({
      apiVersion: "mlops.aigency.com/v1alpha1",
      kind: "Workspace",
      metadata: { name: "test-environment" },
      spec: {
        workflows: {
          image: "prefecthq/prefect:3.9.1-python3.12",
          controllerReplicas: 1,
          databaseReplicas: 1,
          storageQuota: "16Gi",
          agentPools: [{ name: "default", image: "prefecthq/prefect:3.9.1-python3.12", replicas: 1 }],
        },
      },
    })
    expect(result.ok).toBe(true)
  })

  it("applies the stated defaults to a minimal document", () => {
    const result = validateWorkspace(base())
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    const w = result.value.spec.workflows
    expect(w.image).toBe(Defaults.defaultPrefectImage)
    expect(w.controllerReplicas).toBe(1)
    expect(w.databaseReplicas).toBe(1)
    expect(w.storageQuota).toBe("16Gi")
    expect(w.imagePullPolicy).toBe("IfNotPresent")
    expect(w.agentPools[0]).toEqual({ name: "default", replicas: 1, type: "process" })
    // No uiApiUrl: the planner derives it (from a route's host, else the port-forward URL).
    expect(w.server).toEqual({
      logLevel: "INFO",
      basicAuth: { enabled: false },
      metrics: { enabled: false },
      databaseLossRestartSeconds: 300,
    })
    expect(w.database).toEqual({
      deleteVolumeWithWorkspace: false,
      retention: { flowRunDays: 90, eventDays: 7 },
      backup: { beforeMigration: true, keep: 5 },
    })
    expect(w.networkPolicy).toEqual({ enabled: true })
  })

  it("accepts integer quantities as YAML authors write them and decodes them to strings", () => {
    const result = validateWorkspace(
      withChange((ws) => {
        ws.spec.workflows.agentPools[0].resources = { requests: { cpu: 1 }, limits: { memory: "1Gi" } }
      }),
    )
    expect(result.ok && result.value.spec.workflows.agentPools[0]?.resources).toEqual({
      requests: { cpu: "1" },
      limits: { memory: "1Gi" },
    })
  })

  it("calls a storageQuota above zero by its digits, not by a float that underflows (1e-400), as the API server does", () => {
    for (const quota of ["1e-400", "0.001", "1n", "16Gi"]) {
      const result = validateWorkspace(withChange((ws) => (ws.spec.workflows.storageQuota = quota)))
      expect(result.ok, quota).toBe(true)
    }
  })

  it("reads an explicit null as an absent field, as the API server does (`image:` with nothing after it)", () => {
    const result = validateWorkspace(
      withChange((ws) => {
        ws.spec.workflows.image = null
        ws.spec.workflows.agentPools[0].replicas = null
      }),
    )
    expect(result.ok && result.value.spec.workflows.image).toBe(Defaults.defaultPrefectImage)
    expect(result.ok && result.value.spec.workflows.agentPools[0]?.replicas).toBe(1)
    const required = validateWorkspace(withChange((ws) => (ws.spec.workflows.agentPools = null)))
    expect(required.ok ? [] : required.issues).toEqual([{ path: "spec.workflows.agentPools", message: "is required" }])
    // A field the Schema does not know is still reported, null or not, as the API server's strict validation does.
    const unknown = validateWorkspace(withChange((ws) => (ws.spec.workflows.imagee = null)))
    expect(unknown.ok ? [] : unknown.issues.map((i) => i.path)).toEqual(["spec.workflows.imagee"])
  })

  it("accepts every generated valid Workspace", () => {
    fc.assert(
      fc.property(workspaceDocument(), (doc) => {
        const result = validateWorkspace(doc)
        if (!result.ok) throw new Error(`${JSON.stringify(doc)}\n${JSON.stringify(result.issues)}`)
      }),
      { numRuns: 300 },
    )
  })

  it("round-trips: decode, encode, decode gives the same Workspace, and encoding makes every default explicit", () => {
    fc.assert(
      fc.property(workspaceDocument(), (doc) => {
        const first = validateWorkspace(doc)
        if (!first.ok) return false
        const encoded = encodeWorkspace(first.value)
        const second = validateWorkspace(encoded)
        expect(second).toEqual(first)
        expect(encodeWorkspace(second.ok ? second.value : first.value)).toEqual(encoded)
        expect(encoded.spec.workflows.storageQuota).toBeDefined()
        return true
      }),
      { numRuns: 300 },
    )
  })

  it("keeps values that were given instead of defaulting them", () => {
    fc.assert(
      fc.property(workspaceDocument(), (doc) => {
        const result = validateWorkspace(doc)
        if (!result.ok) return false
        const given = doc.spec.workflows
        const decoded = result.value.spec.workflows
        if (given.controllerReplicas !== undefined) expect(decoded.controllerReplicas).toBe(given.controllerReplicas)
        if (given.image !== undefined) expect(decoded.image).toBe(given.image)
        expect(decoded.agentPools.map((p) => p.name)).toEqual(given.agentPools.map((p) => p.name))
        return true
      }),
      { numRuns: 200 },
    )
  })

  it("decodeWorkspace fails with every issue at once, as a tagged error", async () => {
    const error = await Effect.runPromise(
      Effect.flip(
        decodeWorkspace(
          withChange((ws) => {
            ws.spec.workflows.databaseReplicas = 2
            ws.spec.workflows.agentPools[0].name = "Bad_Name"
          }),
        ),
      ),
    )
    expect(error._tag).toBe("WorkspaceValidationError")
    expect(error.issues.map((i) => i.path)).toEqual([
      "spec.workflows.databaseReplicas",
      "spec.workflows.agentPools[0].name",
    ])
    expect(error.message).toContain("spec.workflows.databaseReplicas: must be 0 or 1")
  })

  it("decodeWorkspace ignores unknown fields (the API server pruned them); validateWorkspace reports them", async () => {
    const doc = withChange((ws) => {
      ws.spec.workflows.controlerReplicas = 2
    })
    expect((await Effect.runPromise(decodeWorkspace(doc))).metadata.name).toBe("test-environment")
    expect(validateWorkspace(doc)).toEqual({
      ok: false,
      issues: [
        {
          path: "spec.workflows.controlerReplicas",
          message: "unknown field: not part of the Workspace schema (check its spelling and indentation)",
        },
      ],
    })
    expect(validateWorkspace(doc, { unknownFields: "ignore" }).ok).toBe(true)
  })

  it("allows ordinary Kubernetes metadata (finalizers, managedFields) even in strict mode", () => {
    const doc = withChange((ws) => {
      ws.metadata.finalizers = ["x/y"]
      ws.metadata.managedFields = [{ manager: "kubectl" }]
      ws.metadata.labels = { team: "ml" }
    })
    expect(validateWorkspace(doc).ok).toBe(true)
  })
})
