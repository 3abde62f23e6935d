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
    const world = {
      ...settled(named),
      referencedSecrets: [
        { namespace: "prefect", name: "db", keys: ["connection-url"] },
        { namespace: "prefect", name: "auth", keys: ["other"] },
        { namespace: "prefect", name: "redis" },
      ],
    }
    expect(condition(plan(named, world), "Degraded")).toMatchObject({
      status: "True",
      reason: "SecretMissing",
      message:
        "spec.workflows.server.basicAuth.secretRef: Secret auth has no key creds; " +
        "spec.workflows.redis.external.passwordSecretRef: Secret redis does not exist in prefect. " +
        "Pods that read it cannot start; create it.",
    })
  })

  it("leave the external database's Secret to DatabaseSecretMissing, which names it first", () => {
    const world = {
      ...settled(named),
      referencedSecrets: [
        { namespace: "prefect", name: "db" },
        { namespace: "prefect", name: "auth", keys: ["other"] },
      ],
    }
    const degraded = condition(plan(named, world), "Degraded")
    expect(degraded).toMatchObject({ status: "True", reason: "DatabaseSecretMissing" })
    expect(degraded?.message).toMatch(
      /^spec\.workflows\.database\.external\.secretRef\.name: Secret db does not exist/u,
    )
  })

  it("raise nothing once they hold their keys, or when the engine could not look", () => {
    const present = [
      { namespace: "prefect", name: "db", keys: ["connection-url"] },
      { namespace: "prefect", name: "auth", keys: ["creds"] },
      { namespace: "prefect", name: "redis", keys: ["redis-password"] },
    ]
    expect(condition(plan(named, { ...settled(named), referencedSecrets: present }), "Degraded")?.status).toBe("False")
    expect(condition(plan(named, settled(named)), "Degraded")?.status).toBe("False")
  })

  it("include an external Redis's password only while Redis is used (several replicas)", () => {
    const single = ws({
      redis: { external: { host: "redis", passwordSecretRef: { name: "redis" } } },
    })
    const world = { ...settled(single), referencedSecrets: [{ namespace: "prefect", name: "redis" }] }
    expect(condition(plan(single, world), "Degraded")?.status).toBe("False")
  })

  it("include the auth string in every other namespace a kubernetes pool sends flow-run Jobs to", () => {
    const jobs = ws({
      server: { basicAuth: { enabled: true } },
      agentPools: [{ name: "default" }, { name: "k", type: "kubernetes", jobNamespace: "flows" }],
    })
    const world = {
      ...settled(jobs),
      referencedSecrets: [{ namespace: "flows", name: "test-environment-environment-secrets" }],
    }
    expect(condition(plan(jobs, world), "Degraded")?.message).toContain(
      "spec.workflows.agentPools[1].jobNamespace: Secret test-environment-environment-secrets does not exist in flows",
    )
  })
})
