import { describe, expect, it } from "vitest"
import { plan } from "../src/plan/planner.js"
import { condition, settled, ws } from "./fixtures.js"

const named = ws({
  controllerReplicas: 2,
  database: { external: { secretRef: { name: "db" } } },
  server: { basicAuth: { enabled: true, secretRef: { name: "auth", key: "creds" } } },
  redis: { external: { host: "redis", passwordSecretRef: { name: "redis" } } },
})

describe("Secrets the spec names", () => {
  it("are reported Degraded/SecretMissing at their paths when missing or without their key", () => {
    const world = { ...settled(named), referencedSecrets: [{ name: "db" }, { name: "auth", keys: ["other"] }] }
    expect(condition(plan(named, world), "Degraded")).toMatchObject({
      status: "True",
      reason: "SecretMissing",
      message:
        "spec.workflows.database.external.secretRef: Secret db does not exist in prefect; " +
        "spec.workflows.server.basicAuth.secretRef: Secret auth has no key creds. Pods that read it cannot start; " +
        "create it (it is looked at again every few minutes).",
    })
  })

  it("raise nothing once they hold their keys, or when the engine could not look", () => {
    const present = [
      { name: "db", keys: ["connection-url"] },
      { name: "auth", keys: ["creds"] },
      { name: "redis", keys: ["redis-password"] },
    ]
    expect(condition(plan(named, { ...settled(named), referencedSecrets: present }), "Degraded")?.status).toBe("False")
    expect(condition(plan(named, settled(named)), "Degraded")?.status).toBe("False")
  })

  it("include an external Redis's password only while Redis is used (several replicas)", () => {
    const single = ws({ redis: { external: { host: "redis", passwordSecretRef: { name: "redis" } } } })
    const world = { ...settled(single), referencedSecrets: [{ name: "redis" }] }
    expect(condition(plan(single, world), "Degraded")?.status).toBe("False")
  })
})
