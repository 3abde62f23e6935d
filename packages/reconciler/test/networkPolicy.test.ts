import { describe, expect, it } from "vitest"
import { plan } from "../src/plan/planner.js"
import { find, nothing, settled, ws } from "./fixtures.js"

const selector = (component: string) => ({
  podSelector: {
    matchLabels: { "mlops.aigency.com/environment": "test-environment", "mlops.aigency.com/component": component },
  },
})

describe("NetworkPolicies", () => {
  it("admit to Postgres only the server's pods, the background services', and the migration, backup and restore Jobs', on 5432", () => {
    const policy = find(plan(ws(), nothing), "NetworkPolicy", "test-environment-orion-database")
    expect(policy.spec).toEqual({
      ...selector("database"),
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            selector("server"),
            selector("services"),
            selector("migration"),
            selector("backup"),
            selector("restore"),
          ],
          ports: [{ protocol: "TCP", port: 5432 }],
        },
      ],
    })
  })

  it("admit to Redis only the server's pods and the background services', on 6379", () => {
    const policy = find(plan(ws({ controllerReplicas: 2 }), nothing), "NetworkPolicy", "test-environment-orion-redis")
    expect(policy.spec.ingress).toEqual([
      { from: [selector("server"), selector("services")], ports: [{ protocol: "TCP", port: 6379 }] },
    ])
  })

  it("select the pods the workloads really run (their selectors match the policies' targets)", () => {
    const p = plan(ws({ controllerReplicas: 2 }), nothing)
    const migration = p.apply.find((o) => o.kind === "Job")
    expect(migration?.kind === "Job" && migration.spec.template.metadata.labels).toMatchObject(
      selector("migration").podSelector.matchLabels,
    )
    const upgrade = plan(ws({ controllerReplicas: 2, image: "prefecthq/prefect:3.9.2-python3.12" }), settled(ws()))
    const backup = upgrade.apply.find((o) => o.kind === "Job")
    expect(backup?.kind === "Job" && backup.spec.template.metadata.labels).toMatchObject(
      selector("backup").podSelector.matchLabels,
    )
    expect(find(p, "Deployment", "test-environment-orion-server").spec.template.metadata.labels).toMatchObject(
      selector("server").podSelector.matchLabels,
    )
    expect(find(p, "Deployment", "test-environment-orion-services").spec.template.metadata.labels).toMatchObject(
      selector("services").podSelector.matchLabels,
    )
  })

  it("are not created when networkPolicy.enabled is false", () => {
    const p = plan(ws({ controllerReplicas: 2, networkPolicy: { enabled: false } }), nothing)
    expect(p.apply.some((o) => o.kind === "NetworkPolicy")).toBe(false)
  })

  it("are not created for an external Redis (there is no in-cluster one to protect)", () => {
    const p = plan(ws({ controllerReplicas: 2, redis: { external: { host: "redis.example.com" } } }), nothing)
    expect(p.apply.some((o) => o.kind === "NetworkPolicy" && o.metadata.name.endsWith("-orion-redis"))).toBe(false)
  })
})
