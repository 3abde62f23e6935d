/**
 * Database migrations, and the gate that keeps the server off a revision whose migration has not succeeded.
 *
 * The server runs with migrate-on-start off (several replicas must not migrate concurrently: docs/architecture.md,
 * "Prefect facts"); instead a Job `<ws>-orion-migrate-<hash>` runs `prefect server database upgrade -y` and registers
 * the image's block types (`migrationScript.ts`). The hash is that of the Job's own content (image, database,
 * database settings, scheduling, the server's `envFrom` and volumes), so a Job's name says exactly what it ran, its
 * (immutable) spec never has to change, and any change that matters to the migration makes a new Job.
 *
 * Remembering success: the server Deployment is annotated `mlops.aigency.com/migration-hash=<hash>` when it is rolled
 * to a migrated revision. That annotation, not the Job, is the record: the Job may be deleted (by a user, or pruned once
 * a newer one exists) without the plan ever re-running it or rolling the server back. For the same reason the Job has
 * no `ttlSecondsAfterFinished`; the current hash's Job is kept while it exists (for `kubectl logs`) and older ones are
 * pruned.
 *
 * The gate:
 * - server annotated with the current hash, or the current Job succeeded → the server runs the desired revision;
 * - otherwise the Job is applied and the server keeps the image and database it runs now (`held`); a server that
 *   never ran a migrated revision (first install) is created at 0 replicas (`waiting`);
 * - a failed Job stays (its pods hold the logs), the server stays held, the Workspace is `Degraded/MigrationFailed`,
 *   and a new attempt follows with backoff (`migrationRetry.ts`); deleting the Job retries at once, changing the spec
 *   makes a new migration;
 * - no new attempt starts while the external database's Secret cannot be read (`databaseSecret.ts`): its pod would
 *   never start.
 * - before migrating, the Job refuses a database whose schema is newer than the image's Prefect (`schemaGuard.ts`):
 *   it fails at once and is not retried, the server stays held, the Workspace is `Degraded/DatabaseNewerThanImage`.
 * - the backup before a migration (`backup.ts`) comes in front of this gate, and a restore (`restore.ts`) in front
 *   of both.
 */
import type { EnvVar as SpecEnvVar } from "@cartographer/schema"
import { metadata, type PlanContext } from "./context.js"
import { postgresImage } from "./database.js"
import { mergeEnv } from "./env.js"
import { contentHash } from "./hash.js"
import type { Container, EnvVar, Job, KeyRef } from "./kube.js"
import { attemptNameHash, decideRetry, migrationAttemptAnnotation } from "./migrationRetry.js"
import { migrationArgs } from "./migrationScript.js"
import { envFromOf, withMounts, withVolumes } from "./mounts.js"
import { databaseName, migrationJobName, secretName } from "./names.js"
import type { MigrationJobObservation, Observed } from "./Observed.js"
import { podComponent } from "./placement.js"
import {
  containerSecurity,
  imageServiceUid,
  podTemplate,
  prefectHome,
  prefectPod,
  prefectScratch,
  pullPolicy,
} from "./podSecurity.js"
import { defaultResources } from "./resources.js"
import { type NewerSchema, parseNewerSchema, schemaGuardExitCode, schemaGuardScript } from "./schemaGuard.js"
import { databasePort, databaseUrlRef, databaseUser } from "./secrets.js"

/** Annotation on the server Deployment: the migration hash its current revision was rolled out after. */
export const migrationHashAnnotation = "mlops.aigency.com/migration-hash"
/** Label on migration Jobs, for humans and selectors. */
export const migrationHashLabel = "mlops.aigency.com/migration-hash"

/** What a migration is for: the server's image and database. */
export interface ServerRevision {
  readonly image: string
  readonly databaseUrlRef: KeyRef
}

export const desiredRevision = (ctx: PlanContext): ServerRevision => ({
  image: ctx.workflows.image,
  databaseUrlRef: databaseUrlRef(ctx),
})

export const usesInternalDatabase = (ctx: PlanContext, revision: ServerRevision): boolean =>
  revision.databaseUrlRef.name === secretName(ctx)

/** Retries of the migration container (10 s, 20 s, 40 s apart) before the Job fails. */
export const migrationBackoffLimit = 3

/** The server's own database settings (TLS, timeouts, pool) must apply to its migrations too. */
const isDatabaseSetting = (env: SpecEnvVar): boolean =>
  env.name.startsWith("PREFECT_SERVER_DATABASE_") || env.name.startsWith("PREFECT_API_DATABASE_")

export const databaseUrlEnv = (revision: ServerRevision): EnvVar => ({
  name: "PREFECT_SERVER_DATABASE_CONNECTION_URL",
  valueFrom: { secretKeyRef: { name: revision.databaseUrlRef.name, key: revision.databaseUrlRef.key } },
})

/** Reserved on every container that reads the database URL (Prefect's older spellings of the same settings). */
export const databaseEnvAliases = ["PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_MIGRATE_ON_START"]

/**
 * Waits until the in-cluster Postgres accepts connections (any image with `pg_isready`: the database's own). Not used
 * for an external database: its host is inside the user's URL, and the Job's retries cover a short outage.
 */
export const waitForDatabase = (ctx: PlanContext): Container => ({
  name: "wait-for-database",
  image: postgresImage(ctx),
  imagePullPolicy: pullPolicy(ctx),
  command: [
    "sh",
    "-c",
    `until pg_isready -h "$DATABASE_HOST" -p ${databasePort} -U ${databaseUser} -t 5; do ` +
      'echo "waiting for $DATABASE_HOST"; sleep 2; done',
  ],
  env: [{ name: "DATABASE_HOST", value: databaseName(ctx) }],
  resources: defaultResources.waitForDatabase,
  // The image's own user: libpq looks the current user up.
  securityContext: containerSecurity({ readOnlyRootFilesystem: true, runAsUser: imageServiceUid }),
})

/**
 * The Job of one attempt at migrating for a revision; its name carries the hash of everything else in it (and, from
 * the second attempt on, the attempt's number). It runs the server's code against the server's database, so it reads
 * what the server reads: its database settings from `env`, its `envFrom` and its volumes (a CA certificate for TLS to
 * the database, say), where its own placement says.
 */
export const planMigrationJob = (ctx: PlanContext, revision: ServerRevision, attempt = 1): Job => {
  const { server } = ctx.workflows
  const userDatabaseEnv = (server.env ?? []).filter(isDatabaseSetting)
  const env = mergeEnv(
    [
      databaseUrlEnv(revision),
      { name: "PREFECT_SERVER_DATABASE_MIGRATE_ON_START", value: "false" },
      ...prefectScratch.env,
    ],
    userDatabaseEnv,
    "spec.workflows.server.env",
    databaseEnvAliases,
  ).env
  const component = podComponent(ctx, "migration")
  const spec: Job["spec"] = {
    backoffLimit: migrationBackoffLimit,
    // A database newer than the image stays newer: fail at once rather than retry.
    podFailurePolicy: {
      rules: [
        {
          action: "FailJob",
          onExitCodes: { containerName: "migrate", operator: "In", values: [schemaGuardExitCode] },
        },
      ],
    },
    template: podTemplate(ctx, component, {
      ...prefectPod(ctx, component),
      // Never: each retry is a new pod, so the logs of every failed attempt stay readable.
      restartPolicy: "Never",
      ...(usesInternalDatabase(ctx, revision) ? { initContainers: [waitForDatabase(ctx)] } : {}),
      containers: [
        {
          name: "migrate",
          image: revision.image,
          imagePullPolicy: pullPolicy(ctx),
          // Arguments only: the image's entrypoint (tini, EXTRA_PIP_PACKAGES) stays in place. The guard execs the
          // upgrade once it has found the database's schema known to the image.
          args: ["python", "-c", schemaGuardScript(migrationArgs)],
          workingDir: prefectHome,
          env,
          ...envFromOf(server),
          resources: defaultResources.migration,
          volumeMounts: withMounts(prefectScratch.mounts, server),
          securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
          // The last lines of the log become the termination message, which the Failed condition can quote.
          terminationMessagePolicy: "FallbackToLogsOnError",
        },
      ],
      volumes: withVolumes(prefectScratch.volumes, server),
    }),
  }
  const hash = contentHash(spec)
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: metadata(
      ctx,
      migrationJobName(ctx, attemptNameHash(hash, attempt)),
      { ...component.labels, [migrationHashLabel]: hash },
      attempt <= 1 ? {} : { annotations: { [migrationAttemptAnnotation]: String(attempt) } },
    ),
    spec,
  }
}

export const jobHash = (job: Job): string => job.metadata.labels[migrationHashLabel] ?? ""

/** What the server Deployment runs while the gate is shut or open. */
export type ServerRollout =
  /** The desired revision, annotated with the current hash. */
  | { readonly kind: "current" }
  /** The revision it runs now, until the current migration succeeds. */
  | { readonly kind: "held"; readonly revision: ServerRevision; readonly migrationHash: string }
  /** Never migrated: the desired revision at 0 replicas. */
  | { readonly kind: "waiting" }

/**
 * `failed`: the latest attempt failed and the next one has not started yet. `backingUp`/`backupFailed`: the backup
 * before the migration (`backup.ts`) runs or failed; `restoring`/`restoreFailed`: the restore before the first
 * migration (`restore.ts`); no migration Job yet.
 */
export type MigrationState =
  | "done"
  | "pending"
  | "running"
  | "failed"
  | "backingUp"
  | "backupFailed"
  | "restoring"
  | "restoreFailed"

/** The latest failed attempt of a migration that has not succeeded yet. */
export interface MigrationFailure {
  readonly jobName: string
  readonly attempt: number
  /** Why it failed, as the Job (and its pod's termination message) said. */
  readonly message: string
  /** When the next attempt starts by the clock (RFC 3339); undefined when its times are unknown. */
  readonly retryAt: string | undefined
}

export interface MigrationGate {
  readonly hash: string
  /** The Job of the attempt in force: the one to create, the one running, or the latest failed one. */
  readonly job: Job
  /** The migration Jobs the plan applies; every other migration Job of the Workspace is pruned. */
  readonly jobs: ReadonlyArray<Job>
  readonly state: MigrationState
  /** The latest failed attempt while the migration has not succeeded (also while the next attempt runs). */
  readonly failure: MigrationFailure | undefined
  /** Seconds until the next attempt is due by the clock: the engine looks again then. */
  readonly requeueAfterSeconds: number | undefined
  /** The Job refused to migrate: the database's schema is newer than the image's Prefect (never retried). */
  readonly newerSchema?: NewerSchema | undefined
  /** The backup Job before this migration, when it is part of the plan (`backup.ts`), and why it failed. */
  readonly backupJob?: Job | undefined
  readonly backupFailureMessage?: string | undefined
  /** The restore Job before the first migration (`restore.ts`), and why it failed. */
  readonly restoreJob?: Job | undefined
  readonly restoreFailureMessage?: string | undefined
  readonly server: ServerRollout
}

/**
 * The gate shut in front of the migration by a Job that must succeed first (the backup, the restore): no migration
 * Job is applied, and what the migration's own attempts said does not apply yet.
 */
export const shutBefore = (
  gate: MigrationGate,
  fields: Pick<MigrationGate, "state"> & Partial<MigrationGate>,
): MigrationGate => ({
  ...gate,
  jobs: [],
  failure: undefined,
  requeueAfterSeconds: undefined,
  newerSchema: undefined,
  ...fields,
})

export interface MigrationInputs {
  /** Whether a new attempt may not start now (the external database's Secret cannot be read). */
  readonly blocked: boolean
  /** When the external database's Secret last changed: a failed attempt older than that is retried at once. */
  readonly secretChangedAt: string | undefined
}

const attemptOf = (job: MigrationJobObservation): number => job.attempt ?? 1

const failureOf = (job: MigrationJobObservation, retryAt: string | undefined): MigrationFailure => ({
  jobName: job.name,
  attempt: attemptOf(job),
  message: job.message ?? "the migration Job failed",
  retryAt,
})

export const decideMigration = (
  ctx: PlanContext,
  revision: ServerRevision,
  observed: Observed,
  inputs: MigrationInputs = { blocked: false, secretChangedAt: undefined },
): MigrationGate => {
  const first = planMigrationJob(ctx, revision)
  const hash = jobHash(first)
  const jobOf = (attempt: number): Job => (attempt <= 1 ? first : planMigrationJob(ctx, revision, attempt))
  // This migration's attempts (a hand-built observation may know the first one by its name only).
  const attempts = (observed.migrationJobs ?? []).filter((j) => j.hash === hash || j.name === first.metadata.name)
  const latest = attempts.reduce<MigrationJobObservation | undefined>(
    (a, b) => (a === undefined || attemptOf(b) > attemptOf(a) ? b : a),
    undefined,
  )
  const server = observed.server
  const gate = (fields: Omit<MigrationGate, "hash" | "server">, rollout: ServerRollout): MigrationGate => ({
    hash,
    ...fields,
    server: rollout,
  })
  const open = (kept: MigrationJobObservation | undefined): MigrationGate => {
    const job = kept === undefined ? first : jobOf(attemptOf(kept))
    const fields = { job, jobs: kept === undefined ? [] : [job], failure: undefined, requeueAfterSeconds: undefined }
    return gate({ ...fields, state: "done" }, { kind: "current" })
  }
  const succeeded = attempts.find((j) => j.state === "succeeded")
  if (server?.migrationHash === hash) return open(succeeded ?? latest)
  if (succeeded !== undefined) return open(succeeded)
  const held: ServerRollout =
    server?.migrationHash !== undefined && server.image !== undefined
      ? {
          kind: "held",
          revision: { image: server.image, databaseUrlRef: server.databaseUrlRef ?? revision.databaseUrlRef },
          migrationHash: server.migrationHash,
        }
      : { kind: "waiting" }
  if (latest === undefined) {
    const fields = { job: first, failure: undefined, requeueAfterSeconds: undefined }
    return gate({ ...fields, jobs: inputs.blocked ? [] : [first], state: "pending" }, held)
  }
  const latestJob = jobOf(attemptOf(latest))
  if (latest.state === "running") {
    // The attempt before it, if it failed, stays for its logs and its message.
    const previous = attempts.find((j) => attemptOf(j) === attemptOf(latest) - 1 && j.state === "failed")
    return gate(
      {
        job: latestJob,
        jobs: previous === undefined ? [latestJob] : [jobOf(attemptOf(previous)), latestJob],
        state: "running",
        failure: previous === undefined ? undefined : failureOf(previous, undefined),
        requeueAfterSeconds: undefined,
      },
      held,
    )
  }
  // A database newer than the image is not retried: only a change of the image (a new migration) can help.
  const newerSchema = parseNewerSchema(latest.message)
  if (newerSchema !== undefined)
    return gate(
      {
        job: latestJob,
        jobs: [latestJob],
        state: "failed",
        failure: failureOf(latest, undefined),
        requeueAfterSeconds: undefined,
        newerSchema,
      },
      held,
    )
  const retry = decideRetry(latest, observed.now, inputs.secretChangedAt)
  const startNext = retry.due && !inputs.blocked
  return gate(
    {
      job: latestJob,
      jobs: startNext ? [latestJob, jobOf(attemptOf(latest) + 1)] : [latestJob],
      state: "failed",
      failure: failureOf(latest, retry.retryAt),
      // While blocked, the change of the Secret that unblocks it is what brings the next look.
      requeueAfterSeconds: startNext || inputs.blocked ? undefined : retry.waitSeconds,
    },
    held,
  )
}
