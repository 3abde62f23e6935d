/**
 * `spec.workflows.database.backup`: backups of the in-cluster Postgres (ADR 0010). Before every migration a Job
 * writes a `pg_dump` of the database, when it holds a Prefect schema, to a volume of its own
 * (`<ws>-orion-database-backup`), retained like the database volume; the migration waits for it. With a `schedule`,
 * a CronJob `<ws>-orion-backups` writes one more file each time. `status.lastBackup` names the latest file.
 */
import { Effect, Schema } from "effect"
import type { CelRule } from "./cel.js"
import { positiveQuantity } from "./Quantity.js"

export const backupDefaults = {
  beforeMigration: true,
  keep: 5,
} as const

const BackupVolumeSize = positiveQuantity({
  description:
    "Size of the backup volume `<workspace>-orion-database-backup` (a Kubernetes quantity). Default: the database " +
    "volume's size (`spec.workflows.storageQuota`).",
})

/** The shape of a cron line (five fields, or a macro such as `@daily`); the API server checks the rest. */
const cronPattern = /^(@[a-z]+|\S+( \S+){4})$/u

export const DatabaseBackup = Schema.Struct({
  beforeMigration: Schema.withDecodingDefaultKey<Schema.Boolean, never>(Effect.succeed(backupDefaults.beforeMigration))(
    Schema.Boolean.annotate({
      default: backupDefaults.beforeMigration,
      description:
        "Back the database up (`pg_dump`) before every migration (a new `spec.workflows.image`) once it holds data; " +
        "a failed backup stops the upgrade. Not for an external database.",
    }),
  ),
  keep: Schema.withDecodingDefaultKey<Schema.Int, never>(Effect.succeed(backupDefaults.keep))(
    // Annotated before the checks: an annotation after a filter belongs to that filter and is not emitted.
    Schema.Int.annotate({
      default: backupDefaults.keep,
      description: "Backup files kept on the volume; each backup deletes the oldest beyond.",
    }).check(
      Schema.isGreaterThanOrEqualTo(1, { message: "must be at least 1" }),
      Schema.isLessThanOrEqualTo(1000, { message: "must be at most 1000" }),
    ),
  ),
  schedule: Schema.optionalKey(
    Schema.String.annotate({
      description: "Cron schedule (UTC) of the CronJob `<workspace>-orion-backups`, e.g. `0 3 * * *`. Unset: none.",
    }).check(Schema.isPattern(cronPattern, { message: "must be a cron schedule: five fields, or @hourly, @daily, …" })),
  ),
  volumeSize: Schema.optionalKey(BackupVolumeSize),
  storageClassName: Schema.optionalKey(
    Schema.String.annotate({
      description:
        "Storage class of the backup volume. Default: the database volume's (`spec.workflows.storageClassName`).",
    }).check(Schema.isMinLength(1, { message: "must not be empty" })),
  ),
}).annotate({ description: "Backups of the in-cluster database." })
export type DatabaseBackup = typeof DatabaseBackup.Type

const scheduleWithExternal = "is only for the in-cluster database"

/** A schedule needs the in-cluster database: an external one is backed up by its own operator. */
export const scheduleNeedsInClusterDatabase = {
  issue: (database: { readonly external?: unknown; readonly backup: DatabaseBackup }) =>
    database.external !== undefined && database.backup.schedule !== undefined
      ? { path: ["backup", "schedule"], issue: scheduleWithExternal }
      : undefined,
  rule: {
    rule: "!has(self.external) || !has(self.backup.schedule)",
    message: `backup.schedule ${scheduleWithExternal}`,
    fieldPath: ".backup.schedule",
  } satisfies CelRule,
}

/** `status.lastBackup`: the newest complete backup file the operator has seen written. */
export const LastBackup = Schema.Struct({
  file: Schema.String.annotate({ description: "Its file name." }),
  time: Schema.String.annotate({ description: "When it was taken.", format: "date-time" }),
}).annotate({ description: "The latest backup file." })
export type LastBackup = typeof LastBackup.Type
