// Scheduled backups (issue 23 item 2): `spec.workflows.database.backup.schedule` plans a CronJob whose Jobs are the
// backup before a migration, and `status.lastBackup` names the newest file a backup reported.
import { validateWorkspace } from "@cartographer/schema"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Observed } from "../src/index.js"
import { backupFileOf, lastBackup, planBackupJob } from "../src/plan/backup.js"
import { contextOf } from "../src/plan/context.js"
import type { CronJob, ManagedObject } from "../src/plan/kube.js"
import { plan, planUnknown } from "../src/plan/planner.js"
import { pruneTargets } from "../src/plan/prune.js"
import { condition, find, has, nothing, raw, settled, ws } from "./fixtures.js"

const cronJobName = "test-environment-orion-backups"
const nightly = (backup: Record<string, unknown> = {}, workflows: Record<string, unknown> = {}) =>
  ws({ database: { backup: { schedule: "0 3 * * *", ...backup } }, ...workflows })
const cronJobOf = (objects: ReadonlyArray<ManagedObject>): CronJob | undefined =>
  objects.find((o): o is CronJob => o.kind === "CronJob")
const file = "20261207T030001Z-prefect-3.9.1-python3.12-91e2b8f3d6a4.dump"
const succeeded = (name: string, written: string, createdAt = "2026-12-07T03:00:00Z") => ({
  name,
  state: "succeeded" as const,
  createdAt,
  message: `cartographer/backup file=${written} bytes=52114`,
})

describe("scheduled backups", () => {
  it("run as a CronJob <ws>-orion-backups: the schedule in UTC, never two at once, the same Job as before a migration", () => {
    const w = nightly({ keep: 7 })
    const world = settled(w)
    const p = plan(w, world)
    const cronJob = find(p, "CronJob", cronJobName)
    expect(cronJob.spec).toMatchObject({
      schedule: "0 3 * * *",
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      suspend: false,
    })
    // One builder: the scheduled Job is the pre-migration backup's (file naming, pg_dump, pruning to `keep`), from
    // the image the server runs, plus a deadline so that a hung backup does not block the next ones (Forbid).
    const ctx = contextOf(w)
    const { activeDeadlineSeconds, ...spec } = cronJob.spec.jobTemplate.spec
    expect(spec).toEqual(planBackupJob(ctx, "hash", "prefecthq/prefect:3.9.1-python3.12").spec)
    expect(activeDeadlineSeconds).toBeGreaterThan(0)
    expect(spec.template.spec.containers[0]?.command?.[2]).toContain("head -n -7")
    // Its pods carry the backup component's labels, which the database's NetworkPolicy admits.
    expect(cronJob.spec.jobTemplate.metadata.labels["mlops.aigency.com/component"]).toBe("backup")
    expect(has(p, "PersistentVolumeClaim", "test-environment-orion-database-backup")).toBe(true)
  })

  it("are off when no schedule is set, and the CronJob is pruned once the schedule is removed", () => {
    const scheduled = plan(nightly(), settled(nightly()))
    const unscheduled = plan(ws(), settled(ws()))
    expect(cronJobOf(unscheduled.apply)).toBeUndefined()
    const existing = [
      {
        kind: "CronJob",
        namespace: "prefect",
        name: cronJobName,
        labels: find(scheduled, "CronJob", cronJobName).metadata.labels,
        controllerUid: "uid-1",
      },
    ]
    expect(pruneTargets(unscheduled.prune, existing)).toEqual(existing)
    expect(pruneTargets(scheduled.prune, existing)).toEqual([])
  })

  it("are suspended while the database is scaled to 0 (a backup would only wait for it)", () => {
    const w = nightly({}, { databaseReplicas: 0 })
    expect(find(plan(w, nothing), "CronJob", cronJobName).spec.suspend).toBe(true)
  })

  it("follow the image the server runs: the file is named for the schema it holds", () => {
    const w = nightly()
    const upgrading = plan(nightly({}, { image: "prefecthq/prefect:3.9.2-python3.12" }), settled(w))
    const env = find(upgrading, "CronJob", cronJobName).spec.jobTemplate.spec.template.spec.containers[0]?.env
    expect(env).toContainEqual({ name: "SOURCE_IMAGE", value: "prefecthq/prefect:3.9.1-python3.12" })
  })

  it("are refused for an external database, at the schedule's path, by the Schema", () => {
    const result = validateWorkspace(
      raw({ database: { external: { secretRef: { name: "db" } }, backup: { schedule: "0 3 * * *" } } }),
    )
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.issues.map((i) => [i.path, i.message])).toEqual([
      ["spec.workflows.database.backup.schedule", "is only for the in-cluster database"],
    ])
  })

  it("refuse a schedule that is not a cron line", () => {
    const result = validateWorkspace(raw({ database: { backup: { schedule: "every night" } } }))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.issues.map((i) => i.path)).toEqual(["spec.workflows.database.backup.schedule"])
    for (const schedule of ["@daily", "*/15 * * * *", "0 3 * * 1-5"])
      expect(validateWorkspace(raw({ database: { backup: { schedule } } })).ok).toBe(true)
  })
})

describe("status.lastBackup", () => {
  const w = nightly()
  const world = settled(w)

  it("names the file and time of the newest backup a succeeded Job reported", () => {
    const older = "20261206T030002Z-prefect-3.9.1-python3.12-91e2b8f3d6a4.dump"
    const p = plan(w, {
      ...world,
      scheduledBackupJobs: [
        succeeded("test-environment-orion-backups-29000000", older, "2026-12-06T03:00:00Z"),
        succeeded("test-environment-orion-backups-29001440", file),
      ],
    })
    expect(p.status.lastBackup).toEqual({ file, time: "2026-12-07T03:00:01Z" })
  })

  it("counts the backup before a migration too, but not a backup that found nothing to back up", () => {
    const before: Observed = {
      ...world,
      backupJobs: [{ ...succeeded("test-environment-orion-backup-1", file), hash: "1" }],
    }
    expect(plan(w, before).status.lastBackup?.file).toBe(file)
    const none: Observed = {
      ...world,
      backupJobs: [
        {
          name: "b",
          state: "succeeded",
          message: "cartographer/backup none: the database holds no Prefect schema yet",
        },
      ],
    }
    expect(plan(w, none).status.lastBackup).toBeUndefined()
  })

  it("is kept once its Job is gone, and not replaced by an older one", () => {
    const last = { file, time: "2026-12-07T03:00:01Z" }
    const previousStatus = { ...world.previousStatus, lastBackup: last }
    expect(plan(w, { ...world, previousStatus }).status.lastBackup).toEqual(last)
    const older = succeeded("j", "20261201T030000Z-prefect-3.9.1-python3.12-91e2b8f3d6a4.dump")
    expect(plan(w, { ...world, previousStatus, scheduledBackupJobs: [older] }).status.lastBackup).toEqual(last)
    // An invalid spec changes nothing: the status still names the backup.
    const invalid = planUnknown(raw({ controllerReplicas: -1 }), { ...world, previousStatus })
    expect(condition(invalid, "Degraded")?.reason).toBe("InvalidSpec")
    expect(invalid.status.lastBackup).toEqual(last)
  })

  it("is Degraded/ScheduledBackupFailed while the latest scheduled backup failed, until a later one succeeds", () => {
    const failed = {
      name: "test-environment-orion-backups-29001440",
      state: "failed" as const,
      createdAt: "2026-12-07T03:00:00Z",
      message: "BackoffLimitExceeded\npg_dump: error: No space left on device",
    }
    const p = plan(w, {
      ...world,
      scheduledBackupJobs: [succeeded("test-environment-orion-backups-29000000", file, "2026-12-06T03:00:00Z"), failed],
    })
    const degraded = condition(p, "Degraded")
    expect(degraded).toMatchObject({ status: "True", reason: "ScheduledBackupFailed" })
    expect(degraded?.message).toContain("Job test-environment-orion-backups-29001440")
    expect(degraded?.message).toContain("No space left on device")
    expect(condition(p, "Ready")?.status).toBe("True")
    const later = succeeded("test-environment-orion-backups-29002880", file, "2026-12-08T03:00:00Z")
    expect(condition(plan(w, { ...world, scheduledBackupJobs: [failed, later] }), "Degraded")?.status).toBe("False")
  })
})

describe("status.lastBackup, over any succession of backups", () => {
  const stamp = fc
    .date({ min: new Date("2026-01-01T00:00:00Z"), max: new Date("2027-01-01T00:00:00Z"), noInvalidDate: true })
    .map((d) =>
      d
        .toISOString()
        .replace(/[-:]/gu, "")
        .replace(/\.\d+Z$/u, "Z"),
    )
  const job = fc.record({
    stamp,
    state: fc.constantFrom("running" as const, "succeeded" as const, "failed" as const),
    scheduled: fc.boolean(),
  })

  it("never names an older file than it did, and always the newest a succeeded backup reported", () => {
    fc.assert(
      fc.property(fc.array(fc.array(job, { maxLength: 4 }), { maxLength: 6 }), (rounds) => {
        let status: ReturnType<typeof lastBackup>
        const succeeded: Array<string> = []
        for (const round of rounds) {
          const observed = round.map((j, i) => ({
            name: `job-${i}`,
            state: j.state,
            message: `cartographer/backup file=${j.stamp}-prefect-3.9.1-python3.12-91e2b8f3d6a4.dump bytes=1`,
          }))
          const next = lastBackup({
            ...nothing,
            ...(status === undefined ? {} : { previousStatus: { lastBackup: status } }),
            scheduledBackupJobs: observed.filter((_, i) => round[i]?.scheduled === true),
            backupJobs: observed.filter((_, i) => round[i]?.scheduled !== true),
          })
          if (status !== undefined) expect(next !== undefined && next.time >= status.time).toBe(true)
          for (const j of observed) if (j.state === "succeeded") succeeded.push(backupFileOf(j.message)?.time ?? "")
          expect(next?.time).toBe(succeeded.length === 0 ? undefined : succeeded.sort().at(-1))
          status = next
        }
      }),
      { numRuns: 300 },
    )
  })
})
