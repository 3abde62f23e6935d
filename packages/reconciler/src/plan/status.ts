/**
 * The Workspace's status, computed purely from the spec and the observed children.
 *
 * Three conditions (Kubernetes API conventions), each from a small decision function
 * returning `{ status, reason, message }` (cert-manager's policy-chain style: the first rule that applies wins):
 * - `Ready`: the server answers and every pool has its workers. A server still serving its previous revision while a
 *   migration runs (or failed) is Ready: users are served.
 * - `Progressing`: a migration or a rollout is under way.
 * - `Degraded`: something needs a human (invalid spec, failed migration, stalled rollout, ignored env vars).
 * `lastTransitionTime` changes only when a condition's status flips; every condition carries `observedGeneration`.
 */
import type { Condition, ConditionStatus, ConditionType, PoolStatus, WorkspaceStatus } from "@cartographer/schema"
import * as DataSafety from "./dataSafetyStatus.js"
import type { MigrationFailure, MigrationState, ServerRollout } from "./migration.js"
import type { WorkloadObservation } from "./Observed.js"

export type ReadyReason =
  | "AllComponentsReady"
  | "InvalidSpec"
  | "DatabaseStopped"
  | "DatabaseNotReady"
  | "DatabaseSecretMissing"
  | "MigrationPending"
  | "MigrationFailed"
  | DataSafety.DataSafetyReason
  | "ServerStopped"
  | "ServerNotReady"
  | "RedisNotReady"
  | "ServicesNotReady"
  | "PoolsNotReady"

export type ProgressingReason =
  | "InvalidSpec"
  | "DatabaseSecretMissing"
  | "MigrationPending"
  | "MigrationRunning"
  | "MigrationFailed"
  | DataSafety.DataSafetyReason
  | DataSafety.DataSafetyProgressReason
  | "RollingOut"
  | "RolloutComplete"

export type DegradedReason =
  | "AsExpected"
  | "InvalidSpec"
  /** The external database's Secret does not exist or lacks the key. */
  | "DatabaseSecretMissing"
  | "MigrationFailed"
  | DataSafety.DataSafetyReason
  | "RolloutStalled"
  /** Pods of a component do not start, for a reason Kubernetes reported (see `podProblems.ts`). */
  | "PodsFailing"
  | "EnvVarsIgnored"
  /** A Secret the spec names does not exist, or lacks the key it names. */
  | "SecretMissing"
  /** Set by the engine, not by a plan: the API server refused a child (invalid, forbidden, namespace missing). */
  | "ApplyRejected"
  /** Set by the engine: a child's name is taken by an object another owner controls. */
  | "OwnershipConflict"

export type Reason = ReadyReason | ProgressingReason | DegradedReason

export interface Decision<R extends Reason> {
  readonly status: ConditionStatus
  readonly reason: R
  readonly message: string
}

/** A workload the status looks at: its name (for messages), the replicas the spec asks for, what was observed. */
export interface WorkloadFacts {
  readonly name: string
  readonly desired: number
  readonly observed: WorkloadObservation | undefined
}

export interface PoolFacts extends WorkloadFacts {
  readonly pool: string
}

/** Everything the decisions look at, gathered by the planner. */
export interface StatusFacts {
  /** Absent with an external database. */
  readonly database: WorkloadFacts | undefined
  readonly migration: {
    readonly state: MigrationState
    /** The Job of the attempt in force. */
    readonly jobName: string
    readonly image: string
    /** The latest failed attempt, while the migration has not succeeded. */
    readonly failure: MigrationFailure | undefined
    readonly server: ServerRollout["kind"]
    /** The Secret whose change retries a failed migration at once (the external database's), if any. */
    readonly retriedOnChangeOf?: string | undefined
  } & DataSafety.DataSafetyFacts
  /** Why the external database's Secret cannot be used (`databaseSecret.ts`). */
  readonly databaseSecretProblem?: string | undefined
  readonly server: WorkloadFacts
  /** Absent for a single-replica server (and with an external Redis). */
  readonly redis: WorkloadFacts | undefined
  /** Prefect's background services apart from the API; absent for a single-replica server. */
  readonly services: WorkloadFacts | undefined
  readonly pools: ReadonlyArray<PoolFacts>
  /** Human descriptions of dropped user env entries. */
  readonly ignoredEnv: ReadonlyArray<string>
  /** Secrets the spec names that do not exist or lack their key, one sentence each with its path. */
  readonly missingSecrets: ReadonlyArray<string>
  /** Human descriptions of why pods do not start, with the Workspace path of their component. */
  readonly podProblems: ReadonlyArray<string>
}

const ready = (w: WorkloadFacts): number => w.observed?.readyReplicas ?? 0
const isReady = (w: WorkloadFacts): boolean => ready(w) >= w.desired
const counts = (w: WorkloadFacts): string => `${ready(w)}/${w.desired}`

/** Whether a workload is still moving towards what the spec asks (created, scaled or updated). */
export const rollingOut = (w: WorkloadFacts): string | undefined => {
  const o = w.observed
  if (o === undefined) return w.desired > 0 ? "being created" : undefined
  if (o.generation !== undefined && (o.observedGeneration ?? 0) < o.generation) return "update not yet observed"
  if (o.specReplicas !== undefined && o.specReplicas !== w.desired) return `scaling to ${w.desired}`
  if ((o.updatedReplicas ?? 0) < w.desired) return `${o.updatedReplicas ?? 0}/${w.desired} updated`
  if ((o.replicas ?? 0) > w.desired) return `${(o.replicas ?? 0) - w.desired} old replica(s) terminating`
  if ((o.availableReplicas ?? 0) < w.desired) return `${o.availableReplicas ?? 0}/${w.desired} available`
  return undefined
}

/** Reports' messages are bounded (the API allows 32768 characters; a failed Job's log tail can be longer). */
export const truncate = (text: string, max = 4096): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

export const invalidSpecMessage = (issues: ReadonlyArray<{ readonly path: string; readonly message: string }>) =>
  truncate(
    `The Workspace spec is invalid; nothing was changed. ${issues
      .map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`))
      .join("; ")}`,
    16384,
  )

export const decideReady = (facts: StatusFacts): Decision<ReadyReason> => {
  const { database, migration, server, redis, services, pools } = facts
  if (database !== undefined && database.desired === 0)
    return {
      status: "False",
      reason: "DatabaseStopped",
      message: "spec.workflows.databaseReplicas is 0: the in-cluster Postgres is stopped (its data is kept)",
    }
  if (database !== undefined && !isReady(database))
    return { status: "False", reason: "DatabaseNotReady", message: `Postgres ${database.name} is not ready yet` }
  if (migration.server === "waiting" && migration.state === "pending" && facts.databaseSecretProblem !== undefined)
    return {
      status: "False",
      reason: "DatabaseSecretMissing",
      message: truncate(`The server starts once its database Secret can be read: ${facts.databaseSecretProblem}`),
    }
  const unsafe = migration.server === "waiting" ? DataSafety.dataSafety(migration, "False") : undefined
  if (unsafe !== undefined) return unsafe
  if (migration.server === "waiting")
    return migration.state === "failed" && migration.failure !== undefined
      ? {
          status: "False",
          reason: "MigrationFailed",
          message: truncate(
            `The database migration failed (Job ${migration.failure.jobName}), so the server was not started: ${migration.failure.message}`,
          ),
        }
      : {
          status: "False",
          reason: "MigrationPending",
          message: `The server starts once the database migration (Job ${migration.jobName}) has succeeded`,
        }
  if (server.desired === 0)
    return {
      status: "False",
      reason: "ServerStopped",
      message: "spec.workflows.controllerReplicas is 0: the Prefect server is stopped",
    }
  if (!isReady(server))
    return {
      status: "False",
      reason: "ServerNotReady",
      message: `Prefect server ${server.name}: ${counts(server)} replicas ready`,
    }
  if (redis !== undefined && !isReady(redis))
    return { status: "False", reason: "RedisNotReady", message: `Redis ${redis.name} is not ready yet` }
  if (services !== undefined && !isReady(services))
    return {
      status: "False",
      reason: "ServicesNotReady",
      message: `Prefect's background services ${services.name} are not running yet`,
    }
  const waiting = pools.filter((pool) => !isReady(pool))
  if (waiting.length > 0)
    return {
      status: "False",
      reason: "PoolsNotReady",
      message: `Workers not ready: ${waiting.map((pool) => `${pool.pool} ${counts(pool)}`).join(", ")}`,
    }
  return {
    status: "True",
    reason: "AllComponentsReady",
    message: `Prefect server ready (${counts(server)}) with ${pools.length} worker pool${pools.length === 1 ? "" : "s"}`,
  }
}

export const decideProgressing = (facts: StatusFacts): Decision<ProgressingReason> => {
  const { migration } = facts
  const blocked = DataSafety.dataSafetyProgress(migration)
  if (blocked !== undefined) return blocked
  if (migration.state === "failed")
    return {
      status: "False",
      reason: "MigrationFailed",
      message: `Blocked: the database migration for ${migration.image} failed (Job ${migration.jobName}); the server stays on its current revision until an attempt succeeds`,
    }
  if (migration.state === "pending" && facts.databaseSecretProblem !== undefined)
    return {
      status: "False",
      reason: "DatabaseSecretMissing",
      message: `Blocked: the database migration for ${migration.image} starts once its database Secret can be read`,
    }
  if (migration.state === "pending")
    return {
      status: "True",
      reason: "MigrationPending",
      message: `Creating the database migration Job ${migration.jobName} for ${migration.image}`,
    }
  if (migration.state === "running")
    return {
      status: "True",
      reason: "MigrationRunning",
      message:
        migration.failure === undefined
          ? `Migrating the database for ${migration.image} (Job ${migration.jobName}); the server rolls out when it succeeds`
          : `Migrating the database for ${migration.image} again (Job ${migration.jobName}, attempt ${migration.failure.attempt + 1}); the server rolls out when it succeeds`,
    }
  const workloads = [
    ...(facts.database === undefined ? [] : [facts.database]),
    facts.server,
    ...(facts.redis === undefined ? [] : [facts.redis]),
    ...(facts.services === undefined ? [] : [facts.services]),
    ...facts.pools,
  ]
  const moving = workloads.flatMap((w) => {
    const why = rollingOut(w)
    return why === undefined ? [] : [`${w.name} (${why})`]
  })
  return moving.length > 0
    ? { status: "True", reason: "RollingOut", message: `Rolling out: ${moving.join(", ")}` }
    : { status: "False", reason: "RolloutComplete", message: "Every component runs its desired revision" }
}

/**
 * What a failed migration tells the user: which attempt failed, what happens next and when, and the Job's own words.
 * Only observed times appear (never "in N seconds"), so the message stays the same until something changes.
 */
const migrationFailedMessage = (migration: StatusFacts["migration"]): string => {
  const failure = migration.failure
  if (failure === undefined) return ""
  const failed = `The database migration Job ${failure.jobName} failed (attempt ${failure.attempt}); the server was left untouched.`
  if (migration.state === "running")
    return `${failed} Retrying as Job ${migration.jobName} (attempt ${failure.attempt + 1}). ${failure.message}`
  const secret = migration.retriedOnChangeOf
  const when = [
    ...(failure.retryAt === undefined ? [] : [`at ${failure.retryAt}`]),
    ...(secret === undefined ? [] : [`as soon as Secret ${secret} changes`]),
    "at once if you delete the Job",
  ]
  const next = `Next attempt ${when.slice(0, -1).join(", ")}${when.length > 1 ? ", or " : ""}${when.at(-1)}.`
  return `${failed} ${next} ${failure.message}`
}

export const decideDegraded = (facts: StatusFacts): Decision<DegradedReason> => {
  const { migration, server, redis, services, pools, ignoredEnv, missingSecrets, podProblems } = facts
  // First: they explain the rest (a pod that reads a missing Secret never starts, so a rollout or migration stalls).
  if (facts.databaseSecretProblem !== undefined)
    return { status: "True", reason: "DatabaseSecretMissing", message: truncate(facts.databaseSecretProblem) }
  if (missingSecrets.length > 0)
    return {
      status: "True",
      reason: "SecretMissing",
      message: truncate(`${missingSecrets.join("; ")}. Pods that read it cannot start; create it.`),
    }
  const unsafe = DataSafety.dataSafety(migration, "True")
  if (unsafe !== undefined) return unsafe
  if (migration.failure !== undefined)
    return { status: "True", reason: "MigrationFailed", message: truncate(migrationFailedMessage(migration)) }
  const workloads = [
    server,
    ...(redis === undefined ? [] : [redis]),
    ...(services === undefined ? [] : [services]),
    ...pools,
  ]
  const stalled = workloads.filter((w) => w.observed?.progressDeadlineExceeded === true)
  if (stalled.length > 0)
    return {
      status: "True",
      reason: "RolloutStalled",
      message: `Rollout exceeded its progress deadline: ${stalled.map((w) => w.name).join(", ")}`,
    }
  if (podProblems.length > 0)
    return {
      status: "True",
      reason: "PodsFailing",
      message: truncate(`Pods do not start: ${podProblems.join("; ")}`),
    }
  if (ignoredEnv.length > 0)
    return {
      status: "True",
      reason: "EnvVarsIgnored",
      message: truncate(`Ignored environment variables: ${ignoredEnv.join("; ")}`),
    }
  return DataSafety.scheduledBackupFailed(migration) ?? { status: "False", reason: "AsExpected", message: "" }
}

/** The three decisions for a spec the Schema rejected: nothing is applied, the running children are left alone. */
export const invalidSpecDecisions = (
  message: string,
): readonly [Decision<ReadyReason>, Decision<ProgressingReason>, Decision<DegradedReason>] => [
  { status: "Unknown", reason: "InvalidSpec", message: "Readiness is not evaluated while the spec is invalid" },
  { status: "False", reason: "InvalidSpec", message: "Nothing is rolled out while the spec is invalid" },
  { status: "True", reason: "InvalidSpec", message },
]

/** A condition from a decision; keeps the previous `lastTransitionTime` unless the status flips. */
export const toCondition = (
  type: ConditionType,
  decision: Decision<Reason>,
  context: {
    readonly now: string
    readonly generation: number | undefined
    readonly previous: ReadonlyArray<Condition> | undefined
  },
): Condition => {
  const before = context.previous?.find((c) => c.type === type)
  return {
    type,
    status: decision.status,
    reason: decision.reason,
    message: decision.message,
    lastTransitionTime:
      before !== undefined && before.status === decision.status ? before.lastTransitionTime : context.now,
    ...(context.generation === undefined ? {} : { observedGeneration: context.generation }),
  }
}

export interface StatusInput {
  readonly decisions: readonly [Decision<ReadyReason>, Decision<ProgressingReason>, Decision<DegradedReason>]
  readonly now: string
  readonly generation: number | undefined
  readonly previous: WorkspaceStatus | undefined
  readonly serverUrl: string | undefined
  readonly pools: ReadonlyArray<PoolStatus> | undefined
}

export const buildStatus = (input: StatusInput): WorkspaceStatus => {
  const context = { now: input.now, generation: input.generation, previous: input.previous?.conditions }
  const [readyDecision, progressingDecision, degradedDecision] = input.decisions
  return {
    ...(input.generation === undefined ? {} : { observedGeneration: input.generation }),
    conditions: [
      toCondition("Ready", readyDecision, context),
      toCondition("Progressing", progressingDecision, context),
      toCondition("Degraded", degradedDecision, context),
    ],
    ...(input.serverUrl === undefined ? {} : { serverUrl: input.serverUrl }),
    ...(input.pools === undefined ? {} : { pools: input.pools }),
  }
}

export const poolStatuses = (pools: ReadonlyArray<PoolFacts>): ReadonlyArray<PoolStatus> =>
  pools.map((pool) => ({ name: pool.pool, replicas: pool.desired, readyReplicas: ready(pool) }))

/** What went wrong while executing a plan, as the engine reports it (reasons only the engine can know). */
export interface ExecutionProblem {
  readonly reason: Extract<DegradedReason, "ApplyRejected" | "OwnershipConflict">
  readonly message: string
}

/**
 * The plan's status with `Degraded` replaced by an execution problem: the plan was computed before the API server
 * answered, so only the engine knows a child was refused. Other conditions stay as planned; `lastTransitionTime`
 * follows the same rule as every condition (it moves only when the status flips).
 */
export const withExecutionProblem = (
  status: WorkspaceStatus,
  problem: ExecutionProblem,
  context: { readonly now: string; readonly previous: WorkspaceStatus | undefined },
): WorkspaceStatus => {
  const conditions = status.conditions ?? []
  const planned = conditions.find((c) => c.type === "Degraded")
  const degraded = toCondition(
    "Degraded",
    { status: "True", reason: problem.reason, message: truncate(problem.message) },
    { now: context.now, generation: planned?.observedGeneration, previous: context.previous?.conditions },
  )
  return {
    ...status,
    conditions:
      planned === undefined ? [...conditions, degraded] : conditions.map((c) => (c === planned ? degraded : c)),
  }
}
