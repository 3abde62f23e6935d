import { describe, expect, it } from "vitest"
import type { Observed } from "../src/index.js"
import { contextOf } from "../src/plan/context.js"
import type { Job, ManagedObject } from "../src/plan/kube.js"
import { desiredRevision, planMigrationJob } from "../src/plan/migration.js"
import { plan } from "../src/plan/planner.js"
import { backedUp, condition, container, find, nothing, settled, ws } from "./fixtures.js"

const serverName = "test-environment-orion-server"
const upgradedImage = "prefecthq/prefect:3.9.2-python3.12"
const jobs = (objects: ReadonlyArray<ManagedObject>, component: string): ReadonlyArray<Job> =>
  objects.filter((o): o is Job => o.kind === "Job" && o.metadata.labels["mlops.aigency.com/component"] === component)
const migrationJobName = (w: ReturnType<typeof ws>) => {
  const ctx = contextOf(w)
  return planMigrationJob(ctx, desiredRevision(ctx)).metadata.name
}
const backupJobName = (w: ReturnType<typeof ws>) => migrationJobName(w).replace("-orion-migrate-", "-orion-backup-")

describe("the backup before a migration", () => {
  it("runs first: the migration Job is applied only once the backup Job of its hash succeeded, the server untouched", () => {
    const world = settled(ws())
    const upgraded = ws({ image: upgradedImage })
    const backingUp = plan(upgraded, world)
    expect(jobs(backingUp.apply, "backup").map((j) => j.metadata.name)).toEqual([backupJobName(upgraded)])
    expect(jobs(backingUp.apply, "migration")).toEqual([])
    expect(container(find(backingUp, "Deployment", serverName)).image).toBe("prefecthq/prefect:3.9.1-python3.12")
    expect(condition(backingUp, "Progressing")).toMatchObject({ status: "True", reason: "BackingUp" })
    expect(condition(backingUp, "Ready")?.status).toBe("True")
    const migrating = plan(upgraded, backedUp(backingUp, world))
    expect(jobs(migrating.apply, "migration").map((j) => j.metadata.name)).toEqual([migrationJobName(upgraded)])
    // The finished backup Job stays while it exists and the migration runs, for its logs; pruned once it is done.
    expect(jobs(migrating.apply, "backup")).toHaveLength(1)
    const done = plan(upgraded, backedUp(migrating, backedUp(backingUp, world)))
    expect(container(find(done, "Deployment", serverName)).image).toBe(upgradedImage)
    expect(jobs(done.apply, "backup")).toEqual([])
  })

  it("stops the upgrade when it fails: no migration, the server keeps its image, Degraded/BackupFailed with the pod's output", () => {
    const world = settled(ws())
    const upgraded = ws({ image: upgradedImage })
    const failed: Observed = {
      ...world,
      backupJobs: [
        { name: backupJobName(upgraded), state: "failed", message: "BackoffLimitExceeded\npg_dump: error: disk full" },
      ],
    }
    const p = plan(upgraded, failed)
    expect(jobs(p.apply, "migration")).toEqual([])
    expect(find(p, "Deployment", serverName)).toEqual(find(plan(ws(), world), "Deployment", serverName))
    const degraded = condition(p, "Degraded")
    expect(degraded).toMatchObject({ status: "True", reason: "BackupFailed" })
    expect(degraded?.message).toContain(`Job ${backupJobName(upgraded)}`)
    expect(degraded?.message).toContain("the server keeps running prefecthq/prefect:3.9.1-python3.12")
    expect(degraded?.message).toContain("pg_dump: error: disk full")
    expect(condition(p, "Progressing")).toMatchObject({ status: "False", reason: "BackupFailed" })
    expect(condition(p, "Ready")?.status).toBe("True")
  })

  it("is not taken before a new Workspace's first migration, but is when its database volume was retained from an earlier one", () => {
    const w = ws()
    const fresh = plan(w, nothing)
    expect(jobs(fresh.apply, "backup")).toEqual([])
    expect(jobs(fresh.apply, "migration")).toHaveLength(1)
    // The backup volume exists from the start, so that the first upgrade finds it.
    expect(fresh.apply.some((o) => o.metadata.name === "test-environment-orion-database-backup")).toBe(true)
    const retained = plan(w, { ...nothing, databaseVolumeRetained: true })
    expect(jobs(retained.apply, "backup").map((j) => j.metadata.name)).toEqual([backupJobName(w)])
    expect(jobs(retained.apply, "migration")).toEqual([])
    expect(find(retained, "Deployment", serverName).spec.replicas).toBe(0)
    expect(jobs(retained.apply, "backup")[0]?.spec.template.spec.containers[0]?.env).toContainEqual({
      name: "SOURCE_IMAGE",
      value: "none",
    })
  })

  it("is never created again once its migration Job exists", () => {
    const world = settled(ws())
    const upgraded = ws({ image: upgradedImage })
    const p = plan(upgraded, {
      ...world,
      migrationJobs: [{ name: migrationJobName(upgraded), state: "running" }],
      backupJobs: [],
    })
    expect(jobs(p.apply, "backup")).toEqual([])
    expect(jobs(p.apply, "migration")).toHaveLength(1)
  })

  it("is not taken for an external database, nor when beforeMigration is false", () => {
    for (const w of [
      ws({ database: { external: { secretRef: { name: "db" } } } }),
      ws({ database: { backup: { beforeMigration: false } } }),
    ]) {
      const p = plan(w, nothing)
      expect(jobs(p.apply, "backup")).toEqual([])
      expect(jobs(p.apply, "migration")).toHaveLength(1)
      expect(p.apply.some((o) => o.metadata.name === "test-environment-orion-database-backup")).toBe(false)
    }
  })

  it("writes to a retained volume <ws>-orion-database-backup, sized and classed as the database's unless set", () => {
    const volume = find(
      plan(ws({ storageClassName: "fast" }), nothing),
      "PersistentVolumeClaim",
      "test-environment-orion-database-backup",
    )
    expect(volume.metadata.ownerReferences).toBeUndefined()
    expect(volume.spec.resources.requests.storage).toBe("16Gi")
    expect(volume.spec.storageClassName).toBe("fast")
    const own = find(
      plan(ws({ database: { backup: { volumeSize: "5Gi", storageClassName: "cold" } } }), nothing),
      "PersistentVolumeClaim",
      "test-environment-orion-database-backup",
    )
    expect(own.spec.resources.requests.storage).toBe("5Gi")
    expect(own.spec.storageClassName).toBe("cold")
  })

  it("dumps with the postgres image as its own user, names the file by time, image and revision, and keeps `keep` files", () => {
    const world = settled(ws())
    const upgraded = ws({ image: upgradedImage, database: { backup: { keep: 3 } } })
    const [job] = jobs(plan(upgraded, world).apply, "backup")
    if (job === undefined) throw new Error("no backup Job")
    const pod = job.spec.template.spec
    const backup = pod.containers[0]
    expect(backup?.image).toBe("postgres:17.6")
    expect(pod.securityContext).toMatchObject({ runAsUser: 999, fsGroup: 999, runAsNonRoot: true })
    expect(pod.initContainers?.map((c) => c.name)).toEqual(["wait-for-database"])
    expect(pod.volumes).toContainEqual({
      name: "backup",
      persistentVolumeClaim: { claimName: "test-environment-orion-database-backup" },
    })
    expect(backup?.env).toContainEqual({ name: "SOURCE_IMAGE", value: "prefecthq/prefect:3.9.1-python3.12" })
    const script = backup?.command?.[2] ?? ""
    expect(script).toContain("pg_dump")
    expect(script).toContain("-Fc")
    expect(script).toContain('file="$(date -u +%Y%m%dT%H%M%SZ)-$source-$revision.dump"')
    expect(script).toContain("head -n -3")
    expect(job.metadata.labels["mlops.aigency.com/migration-hash"]).toBe(migrationJobName(upgraded).slice(-8))
  })
})
