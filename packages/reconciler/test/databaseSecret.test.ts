import { describe, expect, it } from "vitest"
import type { Observed } from "../src/index.js"
import { plan } from "../src/plan/planner.js"
import { condition, find, has, nothing, settled, ws } from "./fixtures.js"

const external = ws({ database: { external: { secretRef: { name: "prefect-db" } } } })
const serverName = "test-environment-orion-server"
const jobs = (p: ReturnType<typeof plan>) => p.apply.filter((o) => o.kind === "Job")
/** The external database's Secret as observed: `{}` missing, `{ keys }` present; `undefined` not looked at. */
const prefectDb = (seen: { readonly keys?: ReadonlyArray<string> }) => ({
  referencedSecrets: [{ namespace: "prefect", name: "prefect-db", ...seen }],
})
const seeing = (seen: { readonly keys?: ReadonlyArray<string> } | undefined): Observed =>
  seen === undefined ? nothing : { ...nothing, ...prefectDb(seen) }

describe("the external database's Secret", () => {
  it("missing: no migration Job, the server waits, Degraded names the Secret, its namespace and the key", () => {
    const p = plan(external, seeing({}))
    expect(jobs(p)).toEqual([])
    expect(find(p, "Deployment", serverName).spec.replicas).toBe(0)
    expect(condition(p, "Degraded")).toMatchObject({
      status: "True",
      reason: "DatabaseSecretMissing",
      message:
        "spec.workflows.database.external.secretRef.name: Secret prefect-db does not exist in namespace prefect; " +
        "create it with key connection-url holding the database URL (postgresql+asyncpg://user:password@host:5432/database)",
    })
    expect(condition(p, "Ready")).toMatchObject({ status: "False", reason: "DatabaseSecretMissing" })
    expect(condition(p, "Progressing")).toMatchObject({ status: "False", reason: "DatabaseSecretMissing" })
  })

  it("without the key (or with it empty): Degraded names the key and the keys the Secret has", () => {
    const p = plan(external, seeing({ keys: ["password", "url"] }))
    expect(jobs(p)).toEqual([])
    expect(condition(p, "Degraded")?.message).toBe(
      "spec.workflows.database.external.secretRef.key: Secret prefect-db has no key connection-url with a value " +
        "(its keys: password, url)",
    )
    expect(condition(plan(external, seeing({ keys: [] })), "Degraded")?.message).toContain("(its keys: none)")
  })

  it("usable, or not looked at (offline): the migration Job is planned and nothing is Degraded", () => {
    for (const observed of [seeing({ keys: ["connection-url"] }), seeing(undefined)]) {
      const p = plan(external, observed)
      expect(jobs(p)).toHaveLength(1)
      expect(condition(p, "Degraded")?.status).toBe("False")
    }
  })

  it("never plans an in-cluster Postgres, its volume or its Secret", () => {
    const p = plan(external, seeing({ keys: ["connection-url"] }))
    expect(p.apply.map((o) => o.kind)).not.toContain("StatefulSet")
    expect(p.apply.map((o) => o.kind)).not.toContain("PersistentVolumeClaim")
    expect(p.apply.map((o) => o.kind)).not.toContain("Secret")
    expect(has(p, "Service", "test-environment-orion-database")).toBe(false)
  })

  it("deleted under a running server: the server is left running and Ready, and Degraded says what is missing", () => {
    const world = settled(external)
    const p = plan(external, { ...world, ...prefectDb({}) })
    expect(find(p, "Deployment", serverName).spec.replicas).toBe(1)
    expect(condition(p, "Ready")?.status).toBe("True")
    expect(condition(p, "Degraded")?.reason).toBe("DatabaseSecretMissing")
    // A Workspace with the in-cluster database ignores what is observed of a Secret it does not read.
    expect(condition(plan(ws(), { ...settled(ws()), ...prefectDb({}) }), "Degraded")?.status).toBe("False")
  })
})
