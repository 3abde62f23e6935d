/**
 * The conditions of the two guards of a Workspace's data on an upgrade (ADR 0010): the backup before a migration
 * (`backup.ts`) and the refusal of a database newer than the image (`schemaGuard.ts`). `status.ts` asks these first
 * where they apply, so that the reason names the guard rather than a generic migration failure.
 */
import { type NewerSchema, newerSchemaMessage } from "./schemaGuard.js"
import type { Decision, StatusFacts } from "./status.js"
import { truncate } from "./status.js"

/** The reasons the guards give. */
export type DataSafetyReason = "DatabaseNewerThanImage" | "BackupFailed" | "ScheduledBackupFailed" | "RestoreFailed"

/** `Progressing` while a guard's Job runs. */
export type DataSafetyProgressReason = "BackingUp" | "Restoring"

/** What the status knows of the guards, beside the migration's own facts. */
export interface DataSafetyFacts {
  /** The Job refused a database newer than the image's Prefect. */
  readonly newerSchema: NewerSchema | undefined
  /** The image the held server keeps running. */
  readonly heldImage: string | undefined
  /** The backup Job before the migration, when there is one, and why it failed. */
  readonly backupJobName?: string | undefined
  readonly backupFailureMessage?: string | undefined
  /** The restore before the first migration (`restore.ts`), and why it failed. */
  readonly restoreJobName?: string | undefined
  readonly restoreFailureMessage?: string | undefined
  /** The latest scheduled backup failed (`backup.ts`). */
  readonly scheduledBackupFailure?: { readonly jobName: string; readonly message: string } | undefined
}

type Migration = StatusFacts["migration"]

const backupFailedMessage = (migration: Migration): string =>
  truncate(
    `The backup before the database migration for ${migration.image} failed (Job ${migration.backupJobName ?? ""}); ` +
      `nothing was migrated${migration.heldImage === undefined ? " and the server was not started" : ` and the server keeps running ${migration.heldImage}`}. ` +
      `Fix the cause and delete the Job to retry. ${migration.backupFailureMessage ?? ""}`,
  )

/** `Degraded` (status True) or, for a server never started, `Ready` (status False): a failed backup or a refusal. */
export const dataSafety = (
  migration: Migration,
  status: "True" | "False",
): Decision<"BackupFailed" | "DatabaseNewerThanImage" | "RestoreFailed"> | undefined => {
  if (migration.state === "restoreFailed")
    return {
      status,
      reason: "RestoreFailed",
      message: truncate(
        `The restore of spec.workflows.database.restoreFrom (Job ${migration.restoreJobName ?? ""}) failed; no ` +
          `migration ran and the server was not started. ${migration.restoreFailureMessage ?? ""}`,
      ),
    }
  if (migration.state === "backupFailed")
    return { status, reason: "BackupFailed", message: backupFailedMessage(migration) }
  if (migration.state === "failed" && migration.newerSchema !== undefined)
    return {
      status,
      reason: "DatabaseNewerThanImage",
      message: newerSchemaMessage(
        migration.image,
        migration.newerSchema,
        status === "True" ? migration.heldImage : undefined,
      ),
    }
  return undefined
}

/** `Progressing`: the backup runs, or the upgrade is blocked by a guard. */
export const dataSafetyProgress = (
  migration: Migration,
): Decision<DataSafetyProgressReason | "BackupFailed" | "DatabaseNewerThanImage" | "RestoreFailed"> | undefined => {
  if (migration.state === "restoreFailed")
    return {
      status: "False",
      reason: "RestoreFailed",
      message: "Blocked: the restore before the first migration failed",
    }
  if (migration.state === "restoring")
    return {
      status: "True",
      reason: "Restoring",
      message: `Restoring spec.workflows.database.restoreFrom (Job ${migration.restoreJobName ?? ""}); the migration starts when it succeeds`,
    }
  if (migration.state === "failed" && migration.newerSchema !== undefined)
    return {
      status: "False",
      reason: "DatabaseNewerThanImage",
      message: `Blocked: the database's schema is newer than ${migration.image}; no migration ran and the server stays on its current revision`,
    }
  if (migration.state === "backupFailed")
    return {
      status: "False",
      reason: "BackupFailed",
      message: `Blocked: the backup before the database migration for ${migration.image} failed; nothing was migrated`,
    }
  if (migration.state === "backingUp")
    return {
      status: "True",
      reason: "BackingUp",
      message: `Backing the database up before migrating it for ${migration.image}; the migration starts when it succeeds`,
    }
  return undefined
}

/** `Degraded`, when nothing more pressing is: the latest scheduled backup failed; the next one tries again. */
export const scheduledBackupFailed = (migration: Migration): Decision<"ScheduledBackupFailed"> | undefined => {
  const failure = migration.scheduledBackupFailure
  if (failure === undefined) return undefined
  return {
    status: "True",
    reason: "ScheduledBackupFailed",
    message: truncate(
      `The latest scheduled backup (Job ${failure.jobName}) failed; the next one runs on spec.workflows.database.` +
        `backup.schedule. ${failure.message}`,
    ),
  }
}
