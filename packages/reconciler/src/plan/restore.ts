/**
 * A restore into a new Workspace (ADR 0011): with `spec.workflows.database.restoreFrom`, the Job `<ws>-orion-restore-<hash>`
 * runs `pg_restore` of a backup file (`backup.ts` writes them) into the in-cluster database before its first
 * migration, and the migration waits for it. The restored database is then migrated to the Workspace's image like any
 * other, so a backup of an older Prefect can be restored into a newer one.
 *
 * Never over data: the Job is planned only while the server has never run a migrated revision, and the Job itself
 * refuses a database that holds a Prefect schema (exit 66, failed at once by the pod failure policy; the Workspace is
 * `Degraded/RestoreFailed` until `restoreFrom` is removed). `pg_restore --single-transaction` leaves nothing behind
 * when it fails, so a retry starts from the same empty database. Once the server has run a migrated revision (its
 * annotation records it) the restore is never planned again, whatever the spec says.
 */
import { metadata, type PlanContext } from "./context.js"
import { contentHash } from "./hash.js"
import type { Job } from "./kube.js"
import { labels } from "./labels.js"
import { type MigrationGate, type ServerRevision, shutBefore, usesInternalDatabase } from "./migration.js"
import { restoreJobName } from "./names.js"
import type { Observed } from "./Observed.js"
import { connectionFlags, holdsPrefectSchema, postgresToolPod, psqlFunction } from "./postgresTool.js"

/** The first word of the restore's termination message. */
export const restoreMarker = "cartographer/restore"
/** The restore refuses a database with data, or a file that is not there: not worth a retry. */
export const restoreRefusedExitCode = 66

const restoreMountPath = "/restore"

const script = [
  "set -eu",
  psqlFunction,
  `if ${holdsPrefectSchema}; then`,
  `  echo "${restoreMarker} refused: the database already holds a Prefect schema; nothing was restored. Remove spec.workflows.database.restoreFrom to start on it." | tee /dev/termination-log`,
  `  exit ${restoreRefusedExitCode}`,
  "fi",
  `if [ ! -f "${restoreMountPath}/$RESTORE_FILE" ]; then`,
  `  echo "${restoreMarker} refused: no file $RESTORE_FILE on PersistentVolumeClaim $RESTORE_CLAIM (spec.workflows.database.restoreFrom)" | tee /dev/termination-log`,
  `  exit ${restoreRefusedExitCode}`,
  "fi",
  `pg_restore ${connectionFlags} --no-owner --single-transaction --exit-on-error "${restoreMountPath}/$RESTORE_FILE"`,
  `echo "${restoreMarker} file=$RESTORE_FILE claim=$RESTORE_CLAIM" | tee /dev/termination-log`,
].join("\n")

/** Whether a restore applies at all: one is asked for, into the in-cluster database. */
export const restores = (ctx: PlanContext, revision: ServerRevision): boolean =>
  ctx.workflows.database.restoreFrom !== undefined && usesInternalDatabase(ctx, revision)

/**
 * The restore Job, named by the hash of its content: a changed `restoreFrom` (a claim name corrected while the pod
 * could not start) makes a new Job rather than an update of an immutable one; the old one is pruned.
 */
export const planRestoreJob = (ctx: PlanContext, from: { readonly claimName: string; readonly file: string }): Job => {
  const spec: Job["spec"] = {
    backoffLimit: 2,
    podFailurePolicy: {
      rules: [
        {
          action: "FailJob",
          onExitCodes: { containerName: "restore", operator: "In", values: [restoreRefusedExitCode] },
        },
      ],
    },
    template: postgresToolPod(ctx, {
      component: "restore",
      script,
      env: [
        { name: "RESTORE_CLAIM", value: from.claimName },
        { name: "RESTORE_FILE", value: from.file },
      ],
      claimName: from.claimName,
      mountPath: restoreMountPath,
      readOnly: true,
    }),
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: metadata(ctx, restoreJobName(ctx, contentHash(spec)), labels(ctx, "restore")),
    spec,
  }
}

/**
 * Puts the restore in front of the first migration: while the server has never run a migrated revision, the
 * migration Job (and a backup before it) waits for the restore Job to succeed. The succeeded Job is kept, for its
 * logs, until the migration is done; a failed one stops everything there (`Degraded/RestoreFailed`).
 */
export const withRestore = (
  ctx: PlanContext,
  revision: ServerRevision,
  gate: MigrationGate,
  observed: Observed,
): MigrationGate => {
  const from = ctx.workflows.database.restoreFrom
  if (from === undefined || !restores(ctx, revision) || gate.state === "done" || gate.server.kind !== "waiting")
    return gate
  const job = planRestoreJob(ctx, from)
  const seen = observed.restoreJobs?.find((j) => j.name === job.metadata.name)
  if (seen?.state === "succeeded") return { ...gate, restoreJob: job }
  // A migration Job of this Workspace already exists: it started without a restore (the field was added later).
  if ((observed.migrationJobs ?? []).length > 0) return gate
  const failed = seen?.state === "failed"
  return shutBefore(gate, {
    backupJob: undefined,
    restoreJob: job,
    state: failed ? "restoreFailed" : "restoring",
    restoreFailureMessage: failed ? (seen.message ?? "the restore Job failed") : undefined,
  })
}
