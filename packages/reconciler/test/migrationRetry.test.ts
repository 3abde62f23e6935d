import type { Workspace } from "@cartographer/schema"
import { workspace } from "@cartographer/schema/testing"
import { describe, expect, it } from "vitest"
import { nothingObserved, type Observed } from "../src/index.js"
import { contextOf } from "../src/plan/context.js"
import type { Job } from "../src/plan/kube.js"
import { desiredRevision, migrationHashLabel, planMigrationJob } from "../src/plan/migration.js"
import { migrationAttemptAnnotation, migrationRetry, retryDelaySeconds } from "../src/plan/migrationRetry.js"
import type { MigrationJobObservation } from "../src/plan/Observed.js"
import { plan } from "../src/plan/planner.js"
import { observedFor, property } from "./arbitraries.js"
import { condition, container, find, inputs, settled, ws } from "./fixtures.js"

const serverName = "test-environment-orion-server"
const upgraded = ws({ image: "prefecthq/prefect:3.9.2-python3.12" })
const attemptJob = (w: Workspace, attempt: number): Job => {
  const ctx = contextOf(w)
  return planMigrationJob(ctx, desiredRevision(ctx), attempt)
}
/** The migration Jobs of a plan (a backup Job before a migration carries the same hash label). */
const jobsOf = (p: ReturnType<typeof plan>) =>
  p.apply.filter((o): o is Job => o.kind === "Job" && o.metadata.labels["mlops.aigency.com/component"] === "migration")
const at = (seconds: number) => new Date(Date.parse("2025-06-01T12:00:00Z") + seconds * 1000).toISOString()
const second = (iso: string) => iso.replace(/\.\d{3}Z$/u, "Z")

/** Attempt `n` of the upgrade's migration as observed: its Job in `state`, with `fields`. */
const attempt = (
  n: number,
  state: MigrationJobObservation["state"],
  fields: Partial<MigrationJobObservation> = {},
): MigrationJobObservation => {
  const job = attemptJob(upgraded, n)
  const hash = job.metadata.labels[migrationHashLabel] ?? ""
  return { name: job.metadata.name, state, hash, ...(n > 1 ? { attempt: n } : {}), ...fields }
}

/** The settled world of the old image, with these attempts of the upgrade's migration. */
const withAttempts = (...attempts: ReadonlyArray<MigrationJobObservation>): Observed => ({
  ...settled(ws()),
  migrationJobs: attempts,
})

/** The settled world of the old image, then attempt `n` of the upgrade's migration, failed at `failedAt`. */
const failedWorld = (n: number, failedAt: string): Observed =>
  withAttempts(
    attempt(n, "failed", {
      message: "BackoffLimitExceeded: Job has reached the specified backoff limit\npassword authentication failed",
      createdAt: second(at(-120)),
      failedAt,
    }),
  )

describe("a failed migration", () => {
  it("is tried again 1, 2, 4 and 8 minutes after each failure, then every 15 minutes", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(retryDelaySeconds)).toEqual([60, 120, 240, 480, 900, 900, 900])
    expect(migrationRetry).toEqual({ firstDelaySeconds: 60, maxDelaySeconds: 900 })
  })

  it("waits out its delay with the failed Job kept, asking to be looked at again when the next attempt is due", () => {
    const early = plan(upgraded, { ...failedWorld(1, second(at(0))), now: second(at(45)) })
    expect(jobsOf(early).map((j) => j.metadata.name)).toEqual([attemptJob(upgraded, 1).metadata.name])
    expect(early.requeueAfterSeconds).toBe(15)
    expect(condition(early, "Degraded")?.message).toContain(`Next attempt at ${second(at(60))}`)
    // The server keeps running its image meanwhile.
    expect(container(find(early, "Deployment", serverName)).image).toBe("prefecthq/prefect:3.9.1-python3.12")
    expect(condition(early, "Ready")?.status).toBe("True")
  })

  it("starts attempt n+1 as a Job of its own once the delay after attempt n passed, keeping attempt n for its logs", () => {
    const due = plan(upgraded, { ...failedWorld(3, second(at(0))), now: second(at(240)) })
    const [failed, next] = jobsOf(due)
    expect(failed?.metadata.name).toBe(attemptJob(upgraded, 3).metadata.name)
    expect(next?.metadata.name).toBe(attemptJob(upgraded, 4).metadata.name)
    expect(next?.metadata.name).toMatch(/^test-environment-orion-migrate-[0-9a-f]{8}$/u)
    expect(next?.metadata.annotations?.[migrationAttemptAnnotation]).toBe("4")
    expect(next?.metadata.labels[migrationHashLabel]).toBe(failed?.metadata.labels[migrationHashLabel])
    // The same Job spec: only the name and the attempt differ.
    expect(next?.spec).toEqual(failed?.spec)
    expect(due.requeueAfterSeconds).toBeUndefined()
    // One second earlier it still waits.
    const before = plan(upgraded, { ...failedWorld(3, second(at(0))), now: second(at(239)) })
    expect(jobsOf(before)).toHaveLength(1)
    expect(before.requeueAfterSeconds).toBe(1)
  })

  it("is tried again at once when the external database's Secret changed after the failed attempt was created", () => {
    const external = ws({
      image: "prefecthq/prefect:3.9.2-python3.12",
      database: { external: { secretRef: { name: "prefect-db" } } },
    })
    const job = attemptJob(external, 1)
    const world = (changedAt: string): Observed => ({
      ...settled(ws()),
      now: second(at(10)),
      migrationJobs: [
        {
          name: job.metadata.name,
          state: "failed",
          hash: job.metadata.labels[migrationHashLabel] ?? "",
          createdAt: second(at(-120)),
          failedAt: second(at(0)),
        },
      ],
      referencedSecrets: [{ namespace: "prefect", name: "prefect-db", keys: ["connection-url"], changedAt }],
    })
    expect(jobsOf(plan(external, world(second(at(-300)))))).toHaveLength(1)
    const fixed = plan(external, world(second(at(5))))
    expect(jobsOf(fixed).map((j) => j.metadata.annotations?.[migrationAttemptAnnotation])).toEqual([undefined, "2"])
    expect(condition(fixed, "Degraded")?.message).toContain("as soon as Secret prefect-db changes")
  })

  it("reports the running retry as Degraded (the failure stands) and prunes attempts before the last failed one", () => {
    const two = attemptJob(upgraded, 2)
    const three = attemptJob(upgraded, 3)
    const p = plan(
      upgraded,
      withAttempts(attempt(1, "failed"), attempt(2, "failed", { message: "refused" }), attempt(3, "running")),
    )
    expect(jobsOf(p).map((j) => j.metadata.name)).toEqual([two.metadata.name, three.metadata.name])
    expect(p.prune.find((s) => s.kind === "Job")?.keep).toEqual([two.metadata.name, three.metadata.name].sort())
    expect(condition(p, "Degraded")).toMatchObject({ status: "True", reason: "MigrationFailed" })
    expect(condition(p, "Degraded")?.message).toContain(`Retrying as Job ${three.metadata.name} (attempt 3)`)
    expect(condition(p, "Progressing")).toMatchObject({ status: "True", reason: "MigrationRunning" })
  })

  it("is done once any attempt succeeds: the server rolls out and the failed attempts are pruned", () => {
    const two = attemptJob(upgraded, 2)
    const p = plan(upgraded, withAttempts(attempt(1, "failed"), attempt(2, "succeeded")))
    expect(jobsOf(p).map((j) => j.metadata.name)).toEqual([two.metadata.name])
    expect(container(find(p, "Deployment", serverName)).image).toBe("prefecthq/prefect:3.9.2-python3.12")
    expect(condition(p, "Degraded")?.status).toBe("False")
  })
})

/** A Workspace in an arbitrary world, with the hash of the migration its plan runs. */
const scenario = workspace().chain((w) => {
  const hash = plan(w, nothingObserved(inputs)).apply.find((o) => o.kind === "Job")?.metadata.labels[migrationHashLabel]
  return observedFor(w, hash).map((obs) => ({ w, obs, hash: hash ?? "" }))
})

const seconds = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso) / 1000)

describe("migration retries, over arbitrary worlds", () => {
  property(
    "start a new attempt only after the latest failed one's delay or a later Secret change, one at a time",
    [scenario],
    ({ w, obs, hash }) => {
      const p = plan(w, obs)
      const known = new Set((obs.migrationJobs ?? []).map((j) => j.name))
      const current = jobsOf(p).filter((j) => j.metadata.labels[migrationHashLabel] === hash)
      expect(current.length).toBeLessThanOrEqual(2)
      const started = current.filter((j) => !known.has(j.metadata.name))
      expect(started.length).toBeLessThanOrEqual(1)
      const attempt = Number(started[0]?.metadata.annotations?.[migrationAttemptAnnotation] ?? "1")
      if (started.length === 0 || attempt === 1) return
      const previous = (obs.migrationJobs ?? []).find(
        (j) => j.hash === hash && (j.attempt ?? 1) === attempt - 1 && j.state === "failed",
      )
      expect(previous).toBeDefined()
      const failedAt = seconds(previous?.failedAt ?? previous?.createdAt)
      const byClock = failedAt !== undefined && (seconds(obs.now) ?? 0) >= failedAt + retryDelaySeconds(attempt - 1)
      const external = w.spec.workflows.database.external?.secretRef.name
      const secret = obs.referencedSecrets?.find((s) => s.name === external)
      const changedAt = external !== undefined && secret?.keys !== undefined ? seconds(secret.changedAt) : undefined
      const bySecret = changedAt !== undefined && changedAt >= (seconds(previous?.createdAt) ?? Infinity)
      expect(byClock || bySecret).toBe(true)
    },
  )

  property("ask to be looked at again exactly when the next attempt becomes due", [scenario], ({ w, obs }) => {
    const p = plan(w, obs)
    if (p.requeueAfterSeconds === undefined) return
    expect(p.requeueAfterSeconds).toBeGreaterThan(0)
    const later = (s: number) =>
      plan(w, { ...obs, now: second(new Date(Date.parse(obs.now) + s * 1000).toISOString()) })
    expect(jobsOf(later(p.requeueAfterSeconds - 1))).toEqual(jobsOf(p))
    expect(jobsOf(later(p.requeueAfterSeconds)).length).toBe(jobsOf(p).length + 1)
  })
})
