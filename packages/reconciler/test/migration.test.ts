import { describe, expect, it } from "vitest"
import { type Observed, pruneTargets } from "../src/index.js"
import { contextOf } from "../src/plan/context.js"
import type { Job } from "../src/plan/kube.js"
import { desiredRevision, migrationHashAnnotation, planMigrationJob } from "../src/plan/migration.js"
import { migrationArgs } from "../src/plan/migrationScript.js"
import { plan } from "../src/plan/planner.js"
import { schemaGuardExitCode, schemaGuardMarker, schemaGuardScript } from "../src/plan/schemaGuard.js"
import { observeApplied } from "../src/plan/simulate.js"
import {
  afterMigration,
  backedUp,
  condition,
  container,
  envOf,
  find,
  inputs,
  nothing,
  settled,
  ws,
} from "./fixtures.js"

const serverName = "test-environment-orion-server"
const jobOf = (w: ReturnType<typeof ws>): Job => {
  const ctx = contextOf(w)
  return planMigrationJob(ctx, desiredRevision(ctx))
}

/** What the schema guard of a Prefect 3.8.8 image prints when the database is at `revision`, newer than its head. */
const guardRefusal = (revision: string) => `${schemaGuardMarker} revision=${revision} prefect=3.8.8 head=d4a7e1c93f52`

/** `world` with the migration Job `name` failed, its failure saying `message`. */
const migrationFailed = (world: Observed, name: string, message: string): Observed => ({
  ...world,
  migrationJobs: [{ name, state: "failed", message }],
})

describe("migration Job", () => {
  it("runs the schema guard, then `prefect server database upgrade -y` and the block registration, as arguments of the server image", () => {
    const job = jobOf(ws())
    const migrate = job.spec.template.spec.containers[0]
    expect(migrate?.args).toEqual(["python", "-c", schemaGuardScript(migrationArgs)])
    expect(schemaGuardScript(migrationArgs)).toContain(`next = ${JSON.stringify(migrationArgs)}`)
    const script = migrationArgs[2] ?? ""
    expect(script).toContain('subprocess.call(["prefect", "server", "database", "upgrade", "-y"])')
    // A failed upgrade fails the Job with its exit code, before anything is registered.
    expect(script.indexOf("sys.exit(code)")).toBeLessThan(script.indexOf("run_block_auto_registration("))
    expect(migrate?.command).toBeUndefined()
    expect(migrate?.image).toBe("prefecthq/prefect:3.9.1-python3.12")
    expect(migrate?.terminationMessagePolicy).toBe("FallbackToLogsOnError")
    expect(job.spec.template.spec.restartPolicy).toBe("Never")
    expect(job.spec.backoffLimit).toBe(3)
  })

  it("fails at once, without retries, when the guard refuses a database newer than the image", () => {
    expect(jobOf(ws()).spec.podFailurePolicy?.rules).toEqual([
      { action: "FailJob", onExitCodes: { containerName: "migrate", operator: "In", values: [schemaGuardExitCode] } },
    ])
    expect(schemaGuardScript([])).toContain(`sys.exit(${schemaGuardExitCode})`)
    expect(schemaGuardScript([])).toContain(`"${schemaGuardMarker} revision=%s prefect=%s head=%s"`)
  })

  it("leaves block registration to the Job: the server replicas do not register at start (they would race)", () => {
    const server = afterMigration(ws({ controllerReplicas: 3 })).apply.find(
      (o) => o.kind === "Deployment" && o.metadata.name === "test-environment-orion-server",
    )
    const env = server?.kind === "Deployment" ? server.spec.template.spec.containers[0]?.env : undefined
    expect(env).toContainEqual({ name: "PREFECT_SERVER_REGISTER_BLOCKS_ON_START", value: "false" })
  })

  it("has no ttlSecondsAfterFinished: the gate's memory is the server's annotation, not the Job's existence", () => {
    expect(Object.keys(jobOf(ws()).spec)).not.toContain("ttlSecondsAfterFinished")
  })

  it("waits for the in-cluster Postgres with pg_isready before migrating, but not for an external database", () => {
    const init = jobOf(ws()).spec.template.spec.initContainers
    expect(init?.map((c) => c.name)).toEqual(["wait-for-database"])
    expect(init?.[0]?.image).toBe("postgres:17.6")
    expect(init?.[0]?.command?.join(" ")).toContain("pg_isready")
    const external = jobOf(ws({ database: { external: { secretRef: { name: "db" } } } }))
    expect(external.spec.template.spec.initContainers).toBeUndefined()
  })

  it("is named <ws>-orion-migrate-<hash of its content>: stable for the same spec, new for a new image", () => {
    const a = jobOf(ws()).metadata.name
    expect(a).toMatch(/^test-environment-orion-migrate-[0-9a-f]{8}$/u)
    expect(jobOf(ws()).metadata.name).toBe(a)
    expect(jobOf(ws({ image: "prefecthq/prefect:3.9.2-python3.12" })).metadata.name).not.toBe(a)
    // Things that do not reach the Job do not make a new one.
    expect(jobOf(ws({ agentPools: [{ name: "other" }], controllerReplicas: 3 })).metadata.name).toBe(a)
    // Key order of user maps does not matter.
    const x = jobOf(ws({ nodeSelector: { a: "1", b: "2" } })).metadata.name
    expect(jobOf(ws({ nodeSelector: { b: "2", a: "1" } })).metadata.name).toBe(x)
  })

  it("carries the server's database settings from its env, and only those", () => {
    const job = jobOf(
      ws({
        server: {
          env: [
            { name: "PREFECT_SERVER_DATABASE_TIMEOUT", value: "30" },
            { name: "UNRELATED", value: "x" },
          ],
        },
      }),
    )
    const env = Object.fromEntries((job.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]))
    expect(env.PREFECT_SERVER_DATABASE_TIMEOUT).toBe("30")
    expect(env.UNRELATED).toBeUndefined()
  })
})

describe("migration gate", () => {
  it("creates a new Workspace's server at 0 replicas until its first migration succeeds", () => {
    const w = ws({ controllerReplicas: 2 })
    const backup = nothing
    const first = plan(w, backup)
    expect(find(first, "Deployment", serverName).spec.replicas).toBe(0)
    expect(find(first, "Deployment", serverName).metadata.annotations).toBeUndefined()
    expect(condition(first, "Progressing")?.reason).toBe("MigrationPending")
    const running = plan(w, observeApplied(first, { ...inputs, previous: backup, migration: "running" }))
    expect(find(running, "Deployment", serverName).spec.replicas).toBe(0)
    expect(condition(running, "Progressing")?.reason).toBe("MigrationRunning")
    const done = plan(w, observeApplied(first, { ...inputs, previous: backup, migration: "succeeded" }))
    const server = find(done, "Deployment", serverName)
    expect(server.spec.replicas).toBe(2)
    expect(server.metadata.annotations?.[migrationHashAnnotation]).toBe(
      jobOf(w).metadata.labels["mlops.aigency.com/migration-hash"],
    )
  })

  it("keeps the server on its current image until the new image's migration Job succeeded", () => {
    const old = ws()
    const world = settled(old)
    const upgraded = ws({ image: "prefecthq/prefect:3.9.2-python3.12" })
    const pending = plan(upgraded, backedUp(plan(upgraded, world), world))
    const server = find(pending, "Deployment", serverName)
    expect(container(server).image).toBe("prefecthq/prefect:3.9.1-python3.12")
    expect(server.spec.replicas).toBe(1)
    const newJob = jobOf(upgraded).metadata.name
    expect(pending.apply.some((o) => o.kind === "Job" && o.metadata.name === newJob)).toBe(true)
    // The running server stays Ready while the migration runs.
    expect(condition(pending, "Ready")?.status).toBe("True")
    expect(condition(pending, "Progressing")?.reason).toBe("MigrationPending")
    const migrated = plan(upgraded, observeApplied(pending, { ...inputs, previous: world, migration: "succeeded" }))
    expect(container(find(migrated, "Deployment", serverName)).image).toBe("prefecthq/prefect:3.9.2-python3.12")
  })

  it("reports a failed migration as Degraded/MigrationFailed with the Job's message and leaves the server untouched", () => {
    const old = ws()
    const world = settled(old)
    const upgraded = ws({ image: "prefecthq/prefect:3.9.2-python3.12" })
    const jobName = jobOf(upgraded).metadata.name
    const failed: Observed = {
      ...world,
      migrationJobs: [{ name: jobName, state: "failed", message: "BackoffLimitExceeded: alembic: relation exists" }],
    }
    const p = plan(upgraded, failed)
    const before = find(plan(old, world), "Deployment", serverName)
    expect(find(p, "Deployment", serverName)).toEqual(before)
    expect(condition(p, "Degraded")).toMatchObject({ status: "True", reason: "MigrationFailed" })
    expect(condition(p, "Degraded")?.message).toContain("alembic: relation exists")
    expect(condition(p, "Progressing")).toMatchObject({ status: "False", reason: "MigrationFailed" })
    expect(condition(p, "Ready")?.status).toBe("True")
    // The failed Job stays for its logs; deleting it (it disappears from the observation) retries.
    expect(p.prune.find((s) => s.kind === "Job")?.keep).toEqual([jobName])
  })

  it("refuses a downgrade: a Job that found the database newer than the image leaves the server on its image, Degraded naming the Prefect the database needs", () => {
    const world = settled(ws())
    const downgraded = ws({ image: "prefecthq/prefect:3.8.8-python3.12" })
    const jobName = jobOf(downgraded).metadata.name
    const refused = migrationFailed(
      world,
      jobName,
      "PodFailurePolicy: Container migrate for pod x failed with exit code 65 matching FailJob rule at index 0\n" +
        guardRefusal("91e2b8f3d6a4"),
    )
    const p = plan(downgraded, refused)
    expect(find(p, "Deployment", serverName)).toEqual(find(plan(ws(), world), "Deployment", serverName))
    expect(condition(p, "Degraded")).toMatchObject({ status: "True", reason: "DatabaseNewerThanImage" })
    expect(condition(p, "Degraded")?.message).toBe(
      "spec.workflows.image: prefecthq/prefect:3.8.8-python3.12 runs Prefect 3.8.8, whose newest database migration is " +
        "d4a7e1c93f52, but the database is at schema revision 91e2b8f3d6a4: it needs Prefect 3.9.1 or newer. No " +
        "migration ran and nothing was rolled out; the server keeps running prefecthq/prefect:3.9.1-python3.12. Set " +
        "spec.workflows.image to an image with that Prefect.",
    )
    expect(condition(p, "Progressing")).toMatchObject({ status: "False", reason: "DatabaseNewerThanImage" })
    expect(condition(p, "Ready")?.status).toBe("True")
    // A database at a revision no known release has: the image's own Prefect is what it is newer than.
    const unknown = plan(downgraded, migrationFailed(refused, jobName, guardRefusal("0123456789ab")))
    expect(condition(unknown, "Degraded")?.message).toContain(
      "it needs a Prefect newer than 3.8.8 (one whose migrations include revision 0123456789ab)",
    )
  })

  it("keeps a new Workspace's server unstarted, Ready False/DatabaseNewerThanImage, on a retained database of a newer Prefect", () => {
    const downgraded = ws({ image: "prefecthq/prefect:3.8.8-python3.12" })
    const first = plan(downgraded, nothing)
    const refused = observeApplied(first, { ...inputs, migration: "failed" })
    const jobName = jobOf(downgraded).metadata.name
    const p = plan(downgraded, migrationFailed(refused, jobName, guardRefusal("91e2b8f3d6a4")))
    expect(find(p, "Deployment", serverName).spec.replicas).toBe(0)
    expect(condition(p, "Ready")).toMatchObject({ status: "False", reason: "DatabaseNewerThanImage" })
    expect(condition(p, "Ready")?.message).toContain("(the server was not started)")
  })

  it("does not re-run a migration whose Job is gone once the server was rolled out after it", () => {
    const w = ws()
    const world = settled(w)
    const withoutJob: Observed = { ...world, migrationJobs: [], backupJobs: [] }
    const p = plan(w, withoutJob)
    expect(p.apply.some((o) => o.kind === "Job")).toBe(false)
    expect(find(p, "Deployment", serverName).spec.replicas).toBe(1)
    expect(condition(p, "Progressing")?.reason).toBe("RolloutComplete")
  })

  it("prunes the Jobs of older revisions once the current one exists", () => {
    const w = ws()
    const world: Observed = {
      ...settled(w),
      migrationJobs: [
        ...(settled(w).migrationJobs ?? []),
        { name: "test-environment-orion-migrate-deadbeef", state: "succeeded" },
      ],
    }
    const p = plan(w, world)
    const targets = pruneTargets(p.prune, [
      {
        kind: "Job",
        namespace: "prefect",
        name: "test-environment-orion-migrate-deadbeef",
        labels: { "mlops.aigency.com/environment": "test-environment", "app.kubernetes.io/managed-by": "cartographer" },
        controllerUid: "uid-1",
      },
    ])
    expect(targets.map((t) => t.name)).toEqual(["test-environment-orion-migrate-deadbeef"])
  })

  it("keeps a held server on its old database while an external database is migrated", () => {
    const world = settled(ws())
    const external = ws({ database: { external: { secretRef: { name: "prefect-db", key: "url" } } } })
    const p = plan(external, world)
    expect(envOf(container(find(p, "Deployment", serverName))).PREFECT_SERVER_DATABASE_CONNECTION_URL).toEqual({
      secretKeyRef: { name: "test-environment-environment-secrets", key: "connection-url" },
    })
    const job = p.apply.find((o): o is Job => o.kind === "Job")
    expect(
      job?.spec.template.spec.containers[0]?.env?.find((e) => e.name === "PREFECT_SERVER_DATABASE_CONNECTION_URL"),
    ).toEqual({
      name: "PREFECT_SERVER_DATABASE_CONNECTION_URL",
      valueFrom: { secretKeyRef: { name: "prefect-db", key: "url" } },
    })
  })
})
