import { describe, expect, it } from "vitest"
import { plan } from "../src/plan/planner.js"
import { decodeBase64 } from "../src/plan/secrets.js"
import { afterMigration, container, envOf, find, nothing, settled, ws } from "./fixtures.js"

const server = "test-environment-orion-server"
const secret = "test-environment-environment-secrets"
const worker = (p: ReturnType<typeof plan>, pool = "default") => find(p, "Deployment", `test-environment-agent-${pool}`)
const ours = { secretKeyRef: { name: secret, key: "auth-string" } }

describe("basic auth", () => {
  it("is off by default: no auth setting on any container, no credentials in the Secret", () => {
    const p = afterMigration(ws())
    expect(JSON.stringify(p.apply)).not.toContain("AUTH_STRING")
    expect(Object.keys(find(p, "Secret", secret).data)).not.toContain("auth-string")
  })

  it("creates credentials once (user admin, a generated password) and gives the server the auth string", () => {
    const auth = ws({ server: { basicAuth: { enabled: true } } })
    const p = afterMigration(auth)
    const data = find(p, "Secret", secret).data
    expect(decodeBase64(data["api-auth-username"] ?? "")).toBe("admin")
    expect(decodeBase64(data["api-auth-password"] ?? "")).toBe("auth/p@ss:word")
    expect(decodeBase64(data["auth-string"] ?? "")).toBe("admin:auth/p@ss:word")
    expect(envOf(container(find(p, "Deployment", server))).PREFECT_SERVER_API_AUTH_STRING).toEqual(ours)
    // Never a literal: the password appears in no object but the Secret.
    expect(JSON.stringify(p.apply.filter((o) => o.kind !== "Secret"))).not.toContain("auth/p@ss")
    // And never rotates: a later plan with another generated password keeps the observed credentials.
    const later = plan(auth, { ...settled(auth), generatedSecrets: { apiAuthPassword: "new", redisPassword: "new" } })
    expect(find(later, "Secret", secret).data).toEqual(data)
  })

  it("gives every worker and its init container the client setting, and a kubernetes worker the Secret for its Jobs", () => {
    const p = afterMigration(
      ws({
        server: { basicAuth: { enabled: true } },
        agentPools: [{ name: "default" }, { name: "jobs", type: "kubernetes" }],
      }),
    )
    expect(envOf(container(worker(p))).PREFECT_API_AUTH_STRING).toEqual(ours)
    const kubernetes = worker(p, "jobs")
    expect(envOf(container(kubernetes))).toMatchObject({
      PREFECT_API_AUTH_STRING: ours,
      PREFECT_INTEGRATIONS_KUBERNETES_WORKER_API_AUTH_STRING_SECRET_NAME: secret,
      PREFECT_INTEGRATIONS_KUBERNETES_WORKER_API_AUTH_STRING_SECRET_KEY: "auth-string",
    })
    const init = kubernetes.spec.template.spec.initContainers?.[0]
    expect(init?.env?.find((e) => e.name === "PREFECT_API_AUTH_STRING")?.valueFrom).toEqual(ours)
  })

  it("uses the user's Secret when named, and then generates nothing", () => {
    const given = { secretKeyRef: { name: "prefect-auth", key: "credentials" } }
    const p = afterMigration(
      ws({
        server: { basicAuth: { enabled: true, secretRef: { name: "prefect-auth", key: "credentials" } } },
        agentPools: [{ name: "default" }, { name: "jobs", type: "kubernetes" }],
      }),
    )
    expect(envOf(container(find(p, "Deployment", server))).PREFECT_SERVER_API_AUTH_STRING).toEqual(given)
    expect(envOf(container(worker(p))).PREFECT_API_AUTH_STRING).toEqual(given)
    expect(envOf(container(worker(p, "jobs")))).toMatchObject({
      PREFECT_INTEGRATIONS_KUBERNETES_WORKER_API_AUTH_STRING_SECRET_NAME: "prefect-auth",
      PREFECT_INTEGRATIONS_KUBERNETES_WORKER_API_AUTH_STRING_SECRET_KEY: "credentials",
    })
    expect(Object.keys(find(p, "Secret", secret).data)).not.toContain("auth-string")
  })

  it("keeps credentials once created when switched off and on again", () => {
    const on = ws({ server: { basicAuth: { enabled: true } } })
    const world = settled(on)
    const off = plan(ws(), world)
    expect(find(off, "Secret", secret).data["auth-string"]).toBe(
      find(plan(on, world), "Secret", secret).data["auth-string"],
    )
    expect(JSON.stringify(find(off, "Deployment", server))).not.toContain("AUTH_STRING")
  })

  it("creates the Secret for its credentials with an external database, owned like the database's", () => {
    const p = plan(
      ws({ server: { basicAuth: { enabled: true } }, database: { external: { secretRef: { name: "db" } } } }),
      nothing,
    )
    expect(Object.keys(find(p, "Secret", secret).data)).toEqual([
      "api-auth-username",
      "api-auth-password",
      "auth-string",
    ])
    expect(find(p, "Secret", secret).metadata.ownerReferences).toBeUndefined()
  })

  it("drops a user's env entry that would override an auth setting, and says so", () => {
    const p = afterMigration(
      ws({
        server: { basicAuth: { enabled: true }, env: [{ name: "PREFECT_SERVER_API_AUTH_STRING", value: "a:b" }] },
      }),
    )
    expect(envOf(container(find(p, "Deployment", server))).PREFECT_SERVER_API_AUTH_STRING).toEqual(ours)
    expect(p.status.conditions?.find((c) => c.type === "Degraded")).toMatchObject({ reason: "EnvVarsIgnored" })
  })
})
