// A restore into a new Workspace (issue 23 item 3, ADR 0011): `spec.workflows.database.restoreFrom` runs a pg_restore
// Job before the first migration, never over a database that holds data, and never again once the server has run.
import { validateWorkspace } from "@cartographer/schema"
import { describe, expect, it } from "vitest"
import type { Observed } from "../src/index.js"
import { contextOf } from "../src/plan/context.js"
import type { Job, ManagedObject } from "../src/plan/kube.js"
import { plan } from "../src/plan/planner.js"
import { planRestoreJob } from "../src/plan/restore.js"
import { observeApplied } from "../src/plan/simulate.js"
import { condition, find, inputs, nothing, raw, settled, ws } from "./fixtures.js"

const from = {
  claimName: "old-orion-database-backup",
  file: "20261207T030001Z-prefect-3.8.8-python3.12-d4a7e1c93f52.dump",
}
const restoring = (workflows: Record<string, unknown> = {}) => ws({ database: { restoreFrom: from }, ...workflows })
const restoreJobName = planRestoreJob(contextOf(ws({ database: { restoreFrom: from } })), from).metadata.name
const jobs = (objects: ReadonlyArray<ManagedObject>, component: string): ReadonlyArray<Job> =>
  objects.filter((o): o is Job => o.kind === "Job" && o.metadata.labels["mlops.aigency.com/component"] === component)
const restoreJobs = (
  state: "running" | "succeeded" | "failed",
  message?: string,
): NonNullable<Observed["restoreJobs"]> => [
  { name: restoreJobName, state, ...(message === undefined ? {} : { message }) },
]

describe("a restore into a new Workspace", () => {
  it("runs pg_restore of the file from the claim, read-only, before the first migration, which waits for it", () => {
    const w = restoring()
    const first = plan(w, nothing)
    expect(jobs(first.apply, "migration")).toEqual([])
    const job = find(first, "Job", restoreJobName)
    const pod = job.spec.template.spec
    expect(pod.volumes).toContainEqual({
      name: "backup",
      persistentVolumeClaim: { claimName: from.claimName, readOnly: true },
    })
    const container = pod.containers[0]
    expect(container?.env).toContainEqual({ name: "RESTORE_FILE", value: from.file })
    expect(container?.command?.[2]).toContain("pg_restore")
    expect(container?.command?.[2]).toContain("--single-transaction")
    // Refused (a database with data, a missing file) is final: the pod failure policy fails the Job at once.
    expect(job.spec.podFailurePolicy?.rules[0]?.onExitCodes.values).toEqual([66])
    expect(condition(first, "Progressing")).toMatchObject({ status: "True", reason: "Restoring" })
    expect(find(first, "Deployment", "test-environment-orion-server").spec.replicas).toBe(0)

    const restored = plan(w, {
      ...observeApplied(first, { ...inputs, migration: "running" }),
      restoreJobs: restoreJobs("succeeded"),
    })
    expect(jobs(restored.apply, "migration")).toHaveLength(1)
    // Kept for its logs while the migration runs.
    expect(jobs(restored.apply, "restore")).toHaveLength(1)
  })

  it("stops there when it fails, Degraded/RestoreFailed with the pod's words, the server not started", () => {
    const message = "PodFailurePolicy\ncartographer/restore refused: the database already holds a Prefect schema"
    const w = restoring()
    const world = observeApplied(plan(w, nothing), { ...inputs, migration: "running" })
    const p = plan(w, { ...world, restoreJobs: restoreJobs("failed", message) })
    expect(jobs(p.apply, "migration")).toEqual([])
    expect(condition(p, "Degraded")).toMatchObject({ status: "True", reason: "RestoreFailed" })
    expect(condition(p, "Degraded")?.message).toContain("already holds a Prefect schema")
    expect(condition(p, "Ready")).toMatchObject({ status: "False", reason: "RestoreFailed" })
    expect(condition(p, "Progressing")).toMatchObject({ status: "False", reason: "RestoreFailed" })
  })

  it("says so, at restoreFrom's path, when its pod cannot start (a claim that does not exist)", () => {
    const w = restoring()
    const world = observeApplied(plan(w, nothing), { ...inputs, migration: "running" })
    const message = '0/1 nodes are available: persistentvolumeclaim "old-orion-database-backup" not found.'
    const p = plan(w, { ...world, podProblems: [{ component: "restore", reason: "Unschedulable", message }] })
    expect(condition(p, "Degraded")).toMatchObject({ status: "True", reason: "PodsFailing" })
    expect(condition(p, "Degraded")?.message).toContain(`spec.workflows.database.restoreFrom: Unschedulable`)
    expect(condition(p, "Degraded")?.message).toContain(message)
  })

  it("is a new Job when restoreFrom is corrected (a Job's pod template cannot change); the old one is pruned", () => {
    const corrected = { ...from, claimName: "team-orion-database-backup" }
    const p = plan(ws({ database: { restoreFrom: corrected } }), nothing)
    const [job] = jobs(p.apply, "restore")
    expect(job?.metadata.name).not.toBe(restoreJobName)
    expect(job?.metadata.name).toMatch(/^test-environment-orion-restore-[0-9a-f]{8}$/u)
    const jobSelector = p.prune.find((s) => s.kind === "Job")
    expect(jobSelector?.keep).not.toContain(restoreJobName)
  })

  it("is never planned once the server has run a migrated revision, whatever the spec says", () => {
    const world = settled(ws())
    const p = plan(restoring(), world)
    expect(jobs(p.apply, "restore")).toEqual([])
    expect(condition(p, "Ready")?.status).toBe("True")
    // An upgrade of a Workspace that has run: its backup and migration, no restore over its data.
    const upgrading = plan(restoring({ image: "prefecthq/prefect:3.9.2-python3.12" }), world)
    expect(jobs(upgrading.apply, "restore")).toEqual([])
    expect(jobs(upgrading.apply, "backup")).toHaveLength(1)
    // The server's annotation is the record, not a Job (a user may delete Jobs).
    const noJobs: Observed = { ...world, migrationJobs: [] }
    expect(jobs(plan(restoring({ image: "prefecthq/prefect:3.9.2-python3.12" }), noJobs).apply, "restore")).toEqual([])
    // Nor when the Workspace migrated before the field was added.
    const first = plan(ws(), nothing)
    const migrating = observeApplied(first, { ...inputs, migration: "running" })
    expect(jobs(plan(restoring(), migrating).apply, "restore")).toEqual([])
  })

  it("converges: restore, migration, server; the restore Job is then pruned", () => {
    const w = restoring()
    let observed: Observed = nothing
    for (let i = 0; i < 4; i++)
      observed = observeApplied(plan(w, observed), { ...inputs, previous: observed, migration: "succeeded" })
    const p = plan(w, observed)
    expect(jobs(p.apply, "restore")).toEqual([])
    expect(condition(p, "Ready")?.status).toBe("True")
  })

  it("is refused for an external database, at restoreFrom's path, and a file must be a bare name", () => {
    const external = validateWorkspace(
      raw({ database: { external: { secretRef: { name: "db" } }, restoreFrom: from } }),
    )
    expect(external.ok ? [] : external.issues.map((i) => [i.path, i.message])).toEqual([
      ["spec.workflows.database.restoreFrom", "is only for the in-cluster database"],
    ])
    const path = validateWorkspace(raw({ database: { restoreFrom: { ...from, file: "../pvc/x.dump" } } }))
    expect(path.ok ? [] : path.issues.map((i) => i.path)).toEqual(["spec.workflows.database.restoreFrom.file"])
  })
})
