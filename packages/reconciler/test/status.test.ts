import type { Condition } from "@cartographer/schema"
import { describe, expect, it } from "vitest"
import { planInvalid, planUnknown } from "../src/plan/planner.js"
import {
  decideDegraded,
  decideProgressing,
  decideReady,
  type StatusFacts,
  toCondition,
  withExecutionProblem,
} from "../src/plan/status.js"
import { inputs, nothing, raw } from "./fixtures.js"

const up = (replicas: number) => ({
  generation: 2,
  observedGeneration: 2,
  specReplicas: replicas,
  replicas,
  readyReplicas: replicas,
  updatedReplicas: replicas,
  availableReplicas: replicas,
})

/** Everything healthy: one database, a migrated server with 2 replicas, Redis, the background services, two pools. */
const healthy: StatusFacts = {
  database: { name: "ws-orion-database", desired: 1, observed: up(1) },
  migration: {
    state: "done",
    jobName: "ws-orion-migrate-abcd1234",
    image: "img",
    failure: undefined,
    newerSchema: undefined,
    heldImage: undefined,
    server: "current",
  },
  server: { name: "ws-orion-server", desired: 2, observed: up(2) },
  redis: { name: "ws-orion-redis", desired: 1, observed: up(1) },
  services: { name: "ws-orion-services", desired: 1, observed: up(1) },
  pools: [
    { pool: "default", name: "ws-agent-default", desired: 1, observed: up(1) },
    { pool: "gpu", name: "ws-agent-gpu", desired: 0, observed: up(0) },
  ],
  ignoredEnv: [],
  missingSecrets: [],
  podProblems: [],
}
const facts = (change: Partial<StatusFacts>): StatusFacts => ({ ...healthy, ...change })
const migration = (change: Partial<StatusFacts["migration"]>) => ({ migration: { ...healthy.migration, ...change } })
/** Attempt `attempt` of the migration failed with `message`. */
const failure = (message: string, attempt = 1, retryAt: string | undefined = "2025-06-01T12:05:00Z") => ({
  jobName: `ws-orion-migrate-${attempt}`,
  attempt,
  message,
  retryAt,
})

describe("Ready", () => {
  it("is True/AllComponentsReady when the server and every pool are ready (a paused pool counts as ready)", () => {
    expect(decideReady(healthy)).toMatchObject({ status: "True", reason: "AllComponentsReady" })
  })
  it("is False/DatabaseStopped when databaseReplicas is 0", () => {
    expect(decideReady(facts({ database: { name: "db", desired: 0, observed: up(0) } })).reason).toBe("DatabaseStopped")
  })
  it("is False/DatabaseNotReady when Postgres has no ready pod, before anything else", () => {
    const d = decideReady(
      facts({ database: { name: "db", desired: 1, observed: undefined }, ...migration({ server: "waiting" }) }),
    )
    expect(d).toMatchObject({ status: "False", reason: "DatabaseNotReady" })
  })
  it("is False/MigrationPending while a new Workspace's server waits for its first migration", () => {
    expect(decideReady(facts(migration({ state: "running", server: "waiting" }))).reason).toBe("MigrationPending")
  })
  it("is False/MigrationFailed when that first migration failed", () => {
    const d = decideReady(facts(migration({ state: "failed", server: "waiting", failure: failure("boom") })))
    expect(d).toMatchObject({ status: "False", reason: "MigrationFailed" })
    expect(d.message).toContain("boom")
  })
  it("stays True while a held server serves its previous revision during a migration", () => {
    expect(decideReady(facts(migration({ state: "running", server: "held" }))).status).toBe("True")
  })
  it("is False/ServerStopped when controllerReplicas is 0", () => {
    expect(decideReady(facts({ server: { name: "s", desired: 0, observed: up(0) } })).reason).toBe("ServerStopped")
  })
  it("is False/ServerNotReady with the ready count when the server lacks ready replicas", () => {
    const d = decideReady(facts({ server: { name: "s", desired: 2, observed: { ...up(2), readyReplicas: 1 } } }))
    expect(d).toMatchObject({
      status: "False",
      reason: "ServerNotReady",
      message: "Prefect server s: 1/2 replicas ready",
    })
  })
  it("is False/RedisNotReady when Redis is not ready", () => {
    expect(decideReady(facts({ redis: { name: "r", desired: 1, observed: undefined } })).reason).toBe("RedisNotReady")
  })
  it("is False/PoolsNotReady naming each pool without its workers", () => {
    const d = decideReady(
      facts({ pools: [{ pool: "etl", name: "ws-agent-etl", desired: 2, observed: { ...up(2), readyReplicas: 0 } }] }),
    )
    expect(d).toMatchObject({ status: "False", reason: "PoolsNotReady", message: "Workers not ready: etl 0/2" })
  })
})

describe("Progressing", () => {
  it("is False/RolloutComplete when every workload runs its desired revision", () => {
    expect(decideProgressing(healthy)).toMatchObject({ status: "False", reason: "RolloutComplete" })
  })
  it("is True/MigrationPending before the migration Job exists", () => {
    expect(decideProgressing(facts(migration({ state: "pending" })))).toMatchObject({
      status: "True",
      reason: "MigrationPending",
    })
  })
  it("is True/MigrationRunning while the migration Job runs", () => {
    expect(decideProgressing(facts(migration({ state: "running" }))).reason).toBe("MigrationRunning")
  })
  it("is False/MigrationFailed when the rollout is blocked by a failed migration", () => {
    expect(decideProgressing(facts(migration({ state: "failed" })))).toMatchObject({
      status: "False",
      reason: "MigrationFailed",
    })
  })
  it("is True/RollingOut naming what is created, scaled or updated", () => {
    const d = decideProgressing(
      facts({
        server: { name: "s", desired: 3, observed: up(2) },
        pools: [{ pool: "new", name: "ws-agent-new", desired: 1, observed: undefined }],
      }),
    )
    expect(d).toMatchObject({ status: "True", reason: "RollingOut" })
    expect(d.message).toBe("Rolling out: s (scaling to 3), ws-agent-new (being created)")
  })
  it("sees an update the controller has not observed yet", () => {
    const d = decideProgressing(facts({ server: { name: "s", desired: 2, observed: { ...up(2), generation: 3 } } }))
    expect(d.message).toContain("s (update not yet observed)")
  })
})

describe("Degraded", () => {
  it("is False/AsExpected when nothing needs attention", () => {
    expect(decideDegraded(healthy)).toEqual({ status: "False", reason: "AsExpected", message: "" })
  })
  it("is True/MigrationFailed with the Job's message, which is bounded", () => {
    const d = decideDegraded(
      facts(migration({ state: "failed", failure: failure(`alembic error ${"x".repeat(10_000)}`) })),
    )
    expect(d).toMatchObject({ status: "True", reason: "MigrationFailed" })
    expect(d.message).toContain("alembic error")
    expect(d.message.length).toBeLessThanOrEqual(4096)
  })
  it("says when a failed migration is tried again: at a time, on a change of the database Secret, or on deletion", () => {
    const waiting = decideDegraded(
      facts(migration({ state: "failed", failure: failure("refused", 2), retriedOnChangeOf: "prefect-db" })),
    )
    expect(waiting.message).toBe(
      "The database migration Job ws-orion-migrate-2 failed (attempt 2); the server was left untouched. Next attempt " +
        "at 2025-06-01T12:05:00Z, as soon as Secret prefect-db changes, or at once if you delete the Job. refused",
    )
    const untimed = { ...failure("refused"), retryAt: undefined }
    const internal = decideDegraded(facts(migration({ state: "failed", failure: untimed })))
    expect(internal.message).toContain("Next attempt at once if you delete the Job. refused")
  })
  it("stays True/MigrationFailed while the next attempt runs, naming both Jobs", () => {
    const d = decideDegraded(
      facts(migration({ state: "running", jobName: "ws-orion-migrate-b", failure: failure("refused") })),
    )
    expect(d).toMatchObject({ status: "True", reason: "MigrationFailed" })
    expect(d.message).toContain("ws-orion-migrate-1 failed (attempt 1)")
    expect(d.message).toContain("Retrying as Job ws-orion-migrate-b (attempt 2)")
    expect(decideProgressing(facts(migration({ state: "running", failure: failure("refused") })))).toMatchObject({
      status: "True",
      reason: "MigrationRunning",
    })
  })
  it("is True/DatabaseSecretMissing with the problem, before a migration failure, and holds a waiting server", () => {
    const problem = "spec.workflows.database.external.secretRef.name: Secret prefect-db does not exist"
    const blocked = facts({
      ...migration({ state: "pending", server: "waiting" }),
      database: undefined,
      databaseSecretProblem: problem,
    })
    expect(decideDegraded(blocked)).toEqual({ status: "True", reason: "DatabaseSecretMissing", message: problem })
    expect(decideReady(blocked)).toMatchObject({ status: "False", reason: "DatabaseSecretMissing" })
    expect(decideReady(blocked).message).toContain(problem)
    expect(decideProgressing(blocked)).toMatchObject({ status: "False", reason: "DatabaseSecretMissing" })
    const alsoFailed = facts({
      ...migration({ state: "failed", failure: failure("x") }),
      databaseSecretProblem: problem,
    })
    expect(decideDegraded(alsoFailed).reason).toBe("DatabaseSecretMissing")
  })
  it("is True/RolloutStalled when a Deployment exceeded its progress deadline", () => {
    const d = decideDegraded(
      facts({ server: { name: "s", desired: 2, observed: { ...up(2), progressDeadlineExceeded: true } } }),
    )
    expect(d).toMatchObject({
      status: "True",
      reason: "RolloutStalled",
      message: "Rollout exceeded its progress deadline: s",
    })
  })
  it("is True/PodsFailing naming where each component's pods are described, before ignored env entries", () => {
    const problem =
      "spec.workflows.agentPools[1] (pool gpu): Unschedulable — no node fits them: 0/3 nodes are available"
    const d = decideDegraded(facts({ podProblems: [problem], ignoredEnv: ["spec.workflows.server.env[0] (HOME)"] }))
    expect(d).toEqual({ status: "True", reason: "PodsFailing", message: `Pods do not start: ${problem}` })
  })
  it("is True/EnvVarsIgnored listing the dropped env entries", () => {
    const d = decideDegraded(facts({ ignoredEnv: ["spec.workflows.server.env[0] (HOME) is set by Cartographer"] }))
    expect(d).toMatchObject({ status: "True", reason: "EnvVarsIgnored" })
  })
})

describe("conditions", () => {
  const previous: ReadonlyArray<Condition> = [
    {
      type: "Ready",
      status: "True",
      reason: "AllComponentsReady",
      message: "",
      lastTransitionTime: "2024-01-01T00:00:00Z",
    },
  ]
  it("keep lastTransitionTime while the status stays, even when reason and message change", () => {
    const c = toCondition(
      "Ready",
      { status: "True", reason: "AllComponentsReady", message: "other" },
      { now: "2025-01-01T00:00:00Z", generation: 4, previous },
    )
    expect(c).toEqual({
      type: "Ready",
      status: "True",
      reason: "AllComponentsReady",
      message: "other",
      lastTransitionTime: "2024-01-01T00:00:00Z",
      observedGeneration: 4,
    })
  })
  it("take `now` as lastTransitionTime when the status flips", () => {
    const c = toCondition(
      "Ready",
      { status: "False", reason: "ServerNotReady", message: "" },
      { now: "2025-01-01T00:00:00Z", generation: undefined, previous },
    )
    expect(c.lastTransitionTime).toBe("2025-01-01T00:00:00Z")
    expect(c.observedGeneration).toBeUndefined()
  })
})

describe("an invalid spec", () => {
  const raw = {
    apiVersion: "mlops.aigency.com/v1alpha1",
    kind: "Workspace",
    metadata: { name: "ws", namespace: "prefect", generation: 7 },
    spec: { workflows: { agentPools: [{ name: "Bad_Name" }], databaseReplicas: 2 } },
  }

  it("applies and prunes nothing, and reports Degraded/InvalidSpec with every path", () => {
    const p = planUnknown(raw, nothing)
    expect(p.apply).toEqual([])
    expect(p.prune).toEqual([])
    const degraded = p.status.conditions?.find((c) => c.type === "Degraded")
    expect(degraded).toMatchObject({ status: "True", reason: "InvalidSpec", observedGeneration: 7 })
    expect(degraded?.message).toContain("spec.workflows.agentPools[0].name")
    expect(degraded?.message).toContain("spec.workflows.databaseReplicas")
    expect(p.status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Ready", "Unknown", "InvalidSpec"],
      ["Progressing", "False", "InvalidSpec"],
      ["Degraded", "True", "InvalidSpec"],
    ])
    expect(p.status.observedGeneration).toBe(7)
  })

  it("keeps the last known serverUrl and pools", () => {
    const p = planInvalid(raw, [{ path: "spec", message: "bad" }], {
      now: inputs.now,
      previousStatus: {
        serverUrl: "http://ws-orion-server.prefect.svc:4200/api",
        pools: [{ name: "a", replicas: 1, readyReplicas: 1 }],
      },
    })
    expect(p.status.serverUrl).toBe("http://ws-orion-server.prefect.svc:4200/api")
    expect(p.status.pools).toEqual([{ name: "a", replicas: 1, readyReplicas: 1 }])
  })

  it("covers things the planner cannot build: a Workspace name too long for the Postgres StatefulSet", () => {
    const p = planUnknown(
      { ...raw, metadata: { name: "a".repeat(40) }, spec: { workflows: { agentPools: [{ name: "x" }] } } },
      nothing,
    )
    expect(p.apply).toEqual([])
    expect(p.status.conditions?.find((c) => c.type === "Degraded")?.message).toContain("at most 37 characters")
  })
})

describe("execution problems in the status", () => {
  const planned = planUnknown(raw(), nothing).status

  it("replace Degraded with the engine's reason and keep the other conditions", () => {
    const status = withExecutionProblem(
      planned,
      { reason: "ApplyRejected", message: "Role x: namespace not found" },
      { now: "2025-06-01T13:00:00Z", previous: planned },
    )
    const byType = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c]))
    expect(byType.Degraded).toMatchObject({
      status: "True",
      reason: "ApplyRejected",
      message: "Role x: namespace not found",
      lastTransitionTime: "2025-06-01T13:00:00Z",
      observedGeneration: 2,
    })
    expect(byType.Ready).toEqual(planned.conditions?.find((c) => c.type === "Ready"))
  })

  it("keep lastTransitionTime while Degraded stays True", () => {
    const first = withExecutionProblem(
      planned,
      { reason: "OwnershipConflict", message: "a" },
      { now: inputs.now, previous: undefined },
    )
    const second = withExecutionProblem(
      planned,
      { reason: "ApplyRejected", message: "b" },
      { now: "2030-01-01T00:00:00Z", previous: first },
    )
    expect(second.conditions?.find((c) => c.type === "Degraded")?.lastTransitionTime).toBe(inputs.now)
  })
})
