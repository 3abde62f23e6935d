/**
 * `plan(workspace, observed) → Plan`: the whole Prefect deployment of a Workspace as data. Pure, total and
 * deterministic: no I/O, no clock, no randomness (time and the generated password come in `observed`).
 *
 * Apply order follows dependencies, so a single pass of server-side applies leaves nothing dangling: the Secret and
 * the database first, then Redis, the migration Job, the server, and the pools with their RBAC.
 */
import {
  type ValidateOptions,
  type ValidationIssue,
  type ValidationResult,
  validateWorkspace,
  type Workspace,
  type WorkspaceStatus,
} from "@cartographer/schema"
import { generatesAuth } from "./auth.js"
import {
  backsUp,
  backsUpOnSchedule,
  failedScheduledBackup,
  lastBackup,
  planBackupCronJob,
  planBackupVolume,
  withBackup,
} from "./backup.js"
import { contextOf } from "./context.js"
import {
  databaseNeedsRecreate,
  planDatabaseHeadlessService,
  planDatabaseService,
  planDatabaseStatefulSet,
  planDatabaseVolume,
} from "./database.js"
import { databaseSecretChangedAt, databaseSecretProblem } from "./databaseSecret.js"
import { planServerDisruptionBudget, poolDisruptionBudget } from "./disruption.js"
import { describeIgnored } from "./env.js"
import { planHttpRoute, planIngress } from "./exposure.js"
import { jobTemplateEnv } from "./jobTemplate.js"
import type { ManagedObject } from "./kube.js"
import { decideMigration, desiredRevision, usesInternalDatabase } from "./migration.js"
import { agentName, databaseName, redisName, serverName, serverUrl, servicesName } from "./names.js"
import { planDatabaseNetworkPolicy, planRedisNetworkPolicy } from "./networkPolicy.js"
import type { Observed } from "./Observed.js"
import type { Plan } from "./Plan.js"
import { describePodProblems } from "./podProblems.js"
import { pruneSelectors } from "./prune.js"
import { needsRbac, ownsServiceAccount, planRole, planRoleBinding, planServiceAccount } from "./rbac.js"
import { inClusterRedis, planRedisDeployment, planRedisService } from "./redis.js"
import { missingSecrets } from "./references.js"
import { withRestore } from "./restore.js"
import { planSecret } from "./secrets.js"
import { planServerDeployment, planServerService, serverEnv } from "./server.js"
import { planServicesDeployment, separateServices } from "./services.js"
import {
  buildStatus,
  decideDegraded,
  decideProgressing,
  decideReady,
  invalidSpecDecisions,
  invalidSpecMessage,
  type PoolFacts,
  poolStatuses,
  type StatusFacts,
} from "./status.js"
import { planPoolDeployment, workerEnv } from "./workerPools.js"

export const plan = (workspace: Workspace, observed: Observed): Plan => {
  const ctx = contextOf(workspace)
  const { workflows } = ctx

  const desired = desiredRevision(ctx)
  const secretProblem = databaseSecretProblem(ctx, observed)
  const gate = withRestore(
    ctx,
    desired,
    withBackup(
      ctx,
      desired,
      decideMigration(ctx, desired, observed, {
        blocked: secretProblem !== undefined,
        secretChangedAt: databaseSecretChangedAt(ctx, observed),
      }),
      observed,
    ),
    observed,
  )
  const serverRevision = gate.server.kind === "held" ? gate.server.revision : desired
  // Postgres stays while a held server still uses it (switching to an external database waits for its migration).
  const internalDatabase = usesInternalDatabase(ctx, desired) || usesInternalDatabase(ctx, serverRevision)
  const redis = inClusterRedis(ctx)
  const services = separateServices(ctx)
  const networkPolicies = workflows.networkPolicy.enabled
  const secretNeeds = { database: internalDatabase, apiAuth: generatesAuth(ctx), redis }

  const server = serverEnv(ctx, serverRevision)
  const pools = workflows.agentPools.map((pool, index) => ({
    pool,
    worker: workerEnv(ctx, pool, index),
    job: jobTemplateEnv(pool, index),
  }))
  // A StatefulSet governed by another Service is deleted first, its pod kept (see `databaseNeedsRecreate`).
  const recreateDatabase = internalDatabase && databaseNeedsRecreate(ctx, observed)

  const apply: Array<ManagedObject> = []
  if (secretNeeds.database || secretNeeds.apiAuth || secretNeeds.redis)
    apply.push(planSecret(ctx, observed, secretNeeds))
  if (internalDatabase) {
    apply.push(planDatabaseVolume(ctx), planDatabaseService(ctx), planDatabaseHeadlessService(ctx))
    if (!recreateDatabase) apply.push(planDatabaseStatefulSet(ctx))
    if (backsUp(ctx, desired) || backsUpOnSchedule(ctx, desired)) apply.push(planBackupVolume(ctx))
    if (networkPolicies) apply.push(planDatabaseNetworkPolicy(ctx))
  }
  if (redis) {
    apply.push(planRedisService(ctx), planRedisDeployment(ctx))
    if (networkPolicies) apply.push(planRedisNetworkPolicy(ctx))
  }
  if (gate.restoreJob !== undefined) apply.push(gate.restoreJob)
  if (gate.backupJob !== undefined) apply.push(gate.backupJob)
  const schedule = workflows.database.backup.schedule
  if (schedule !== undefined && backsUpOnSchedule(ctx, desired))
    apply.push(planBackupCronJob(ctx, schedule, serverRevision.image))
  apply.push(...gate.jobs)
  const waiting = gate.server.kind === "waiting"
  apply.push(
    planServerService(ctx),
    planServerDeployment(ctx, {
      revision: serverRevision,
      replicas: waiting ? 0 : workflows.controllerReplicas,
      migrationHash:
        gate.server.kind === "current"
          ? gate.hash
          : gate.server.kind === "held"
            ? gate.server.migrationHash
            : undefined,
      env: server.env,
    }),
  )
  if (services)
    apply.push(planServicesDeployment(ctx, { revision: serverRevision, replicas: waiting ? 0 : 1, env: server.env }))
  for (const object of [planServerDisruptionBudget(ctx), planIngress(ctx), planHttpRoute(ctx)])
    if (object !== undefined) apply.push(object)
  for (const { pool, worker, job } of pools) {
    if (ownsServiceAccount(pool)) apply.push(planServiceAccount(ctx, pool))
    if (needsRbac(pool)) apply.push(planRole(ctx, pool), planRoleBinding(ctx, pool))
    apply.push(planPoolDeployment(ctx, pool, { worker: worker.env, job: job.env }))
    const budget = poolDisruptionBudget(ctx, pool)
    if (budget !== undefined) apply.push(budget)
  }

  const poolFacts: ReadonlyArray<PoolFacts> = workflows.agentPools.map((pool) => {
    const seen = observed.pools?.find((p) => p.name === pool.name)
    // An autoscaled pool wants what its autoscaler last set (1, the API's default, before the Deployment exists).
    const desired = pool.autoscaled === true ? (seen?.specReplicas ?? 1) : pool.replicas
    return { pool: pool.name, name: agentName(ctx, pool.name), desired, observed: seen }
  })
  const facts: StatusFacts = {
    database: internalDatabase
      ? { name: databaseName(ctx), desired: workflows.databaseReplicas, observed: observed.database }
      : undefined,
    migration: {
      state: gate.state,
      jobName: gate.job.metadata.name,
      image: desired.image,
      failure: gate.failure,
      newerSchema: gate.newerSchema,
      heldImage: gate.server.kind === "held" ? gate.server.revision.image : undefined,
      backupJobName: gate.backupJob?.metadata.name,
      backupFailureMessage: gate.backupFailureMessage,
      restoreJobName: gate.restoreJob?.metadata.name,
      restoreFailureMessage: gate.restoreFailureMessage,
      scheduledBackupFailure: backsUpOnSchedule(ctx, desired) ? failedScheduledBackup(observed) : undefined,
      server: gate.server.kind,
      retriedOnChangeOf: workflows.database.external?.secretRef.name,
    },
    databaseSecretProblem: secretProblem,
    server: { name: serverName(ctx), desired: workflows.controllerReplicas, observed: observed.server },
    redis: redis ? { name: redisName(ctx), desired: 1, observed: observed.redis } : undefined,
    services: services ? { name: servicesName(ctx), desired: waiting ? 0 : 1, observed: observed.services } : undefined,
    pools: poolFacts,
    podProblems: describePodProblems(
      ctx,
      (observed.podProblems ?? []).filter(
        (p) => p.component !== "agent" || workflows.agentPools.some((pool) => pool.name === p.pool),
      ),
    ),
    ignoredEnv: [...server.ignored, ...pools.flatMap(({ worker, job }) => [...worker.ignored, ...job.ignored])].map(
      describeIgnored,
    ),
    missingSecrets: missingSecrets(ctx, observed.referencedSecrets),
  }

  const backedUp = lastBackup(observed)
  return {
    apply,
    prune: pruneSelectors(ctx, apply, observed.rbacNamespaces ?? [], recreateDatabase ? ["StatefulSet"] : []),
    ...(gate.requeueAfterSeconds === undefined ? {} : { requeueAfterSeconds: gate.requeueAfterSeconds }),
    status: {
      ...buildStatus({
        decisions: [decideReady(facts), decideProgressing(facts), decideDegraded(facts)],
        now: observed.now,
        generation: ctx.generation,
        previous: observed.previousStatus,
        serverUrl: serverUrl(ctx),
        pools: poolStatuses(poolFacts),
      }),
      ...(backedUp === undefined ? {} : { lastBackup: backedUp }),
    },
  }
}

const generationOf = (raw: unknown): number | undefined => {
  if (typeof raw !== "object" || raw === null) return undefined
  const metadata = (raw as { readonly metadata?: unknown }).metadata
  if (typeof metadata !== "object" || metadata === null) return undefined
  const generation = (metadata as { readonly generation?: unknown }).generation
  return typeof generation === "number" && Number.isInteger(generation) && generation >= 0 ? generation : undefined
}

/**
 * The plan for a Workspace the Schema rejected (or whose derived names cannot work): nothing applied, nothing pruned
 * (the running children stay as they are), and `Degraded/InvalidSpec` naming every path. The last known `serverUrl`
 * and pools are kept.
 */
export const planInvalid = (
  raw: unknown,
  issues: ReadonlyArray<ValidationIssue>,
  observed: Pick<Observed, "now" | "previousStatus">,
): Plan => {
  const previous: WorkspaceStatus | undefined = observed.previousStatus
  return {
    apply: [],
    prune: [],
    status: {
      ...buildStatus({
        decisions: invalidSpecDecisions(invalidSpecMessage(issues)),
        now: observed.now,
        generation: generationOf(raw),
        previous,
        serverUrl: previous?.serverUrl,
        pools: previous?.pools,
      }),
      ...(previous?.lastBackup === undefined ? {} : { lastBackup: previous.lastBackup }),
    },
  }
}

/**
 * Decodes an object as read from the API server: the Workspace to plan, or every issue. The Schema refuses what the
 * API server would refuse in the Workspace's children (a request above its limit), so a plan never stops half-way on
 * an invalid child. Today's CRD refuses the same, but a Workspace stored under an earlier CRD is never re-validated
 * by the API server. Unknown fields are ignored by default (the CRD already pruned them).
 */
export const checkWorkspace = (
  raw: unknown,
  options: ValidateOptions = { unknownFields: "ignore" },
): ValidationResult => validateWorkspace(raw, options)

/**
 * Decodes an object as read from the API server and plans it: `plan` when it is a valid Workspace, `planInvalid`
 * otherwise (see `checkWorkspace`).
 */
export const planUnknown = (
  raw: unknown,
  observed: Observed,
  options: ValidateOptions = { unknownFields: "ignore" },
): Plan => {
  const result = checkWorkspace(raw, options)
  return result.ok ? plan(result.value, observed) : planInvalid(raw, result.issues, observed)
}
