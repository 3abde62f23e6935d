/**
 * A backup before every migration of the in-cluster database (ADR 0010): the Job `<ws>-orion-backup-<hash>` runs
 * before the migration Job of the same hash and writes a `pg_dump` (custom format, compressed: `pg_restore` reads it)
 * to the volume `<ws>-orion-database-backup`, retained like the database volume. The migration Job is applied only once
 * the backup succeeded; a failed backup stops the upgrade there (the server keeps running its current image) and the
 * Workspace is `Degraded/BackupFailed` with the pod's output.
 *
 * When: before every migration of an upgrade (a server has run a migrated revision, so the database holds data), and
 * before the first migration of a Workspace whose database volume predates it (retained from an earlier Workspace of
 * the same name: the engine compares creation times). A new Workspace's first migration is not backed up. The Job
 * itself checks once more, where the database is reachable: without Prefect's `alembic_version` table there is
 * nothing to lose, and it succeeds without writing a file.
 *
 * Each file is named by time, the Prefect image whose schema it holds and that schema's revision, e.g.
 * `20261207T093000Z-prefect-3.9.1-python3.12-91e2b8f3d6a4.dump`, written under a temporary name and renamed when
 * complete; the oldest beyond `keep` are then deleted. Not for an external database: its operator backs it up.
 *
 * With `backup.schedule`, a CronJob runs the same Job on the schedule (`planBackupCronJob`). A succeeded backup's
 * termination message names its file; the engine reads it once per Job, and `status.lastBackup` keeps the newest.
 */
import type { LastBackup } from "@cartographer/schema"
import { metadata, type PlanContext } from "./context.js"
import { planRetainedVolume } from "./database.js"
import type { CronJob, Job, JobSpec, PersistentVolumeClaim } from "./kube.js"
import { labels } from "./labels.js"
import {
  type MigrationGate,
  migrationHashLabel,
  type ServerRevision,
  shutBefore,
  usesInternalDatabase,
} from "./migration.js"
import { backupCronJobName, backupJobName, backupVolumeName } from "./names.js"
import type { Observed } from "./Observed.js"
import { connectionFlags, holdsPrefectSchema, postgresToolPod, psqlFunction } from "./postgresTool.js"

/** Where the backup volume is mounted in the backup pod. */
export const backupMountPath = "/backup"

/** The first word of a successful backup's termination message. */
export const backupMarker = "cartographer/backup"

/** Whether a migration of this revision is preceded by a backup: the in-cluster database, unless turned off. */
export const backsUp = (ctx: PlanContext, revision: ServerRevision): boolean =>
  ctx.workflows.database.backup.beforeMigration && usesInternalDatabase(ctx, revision)

/** Retained as the database volume is: the backups matter most when the database is lost. */
export const planBackupVolume = (ctx: PlanContext): PersistentVolumeClaim => {
  const { storageQuota, storageClassName, database } = ctx.workflows
  return planRetainedVolume(
    ctx,
    backupVolumeName(ctx),
    "backup",
    database.backup.volumeSize ?? storageQuota,
    database.backup.storageClassName ?? storageClassName,
  )
}

/**
 * The backup's shell program (the postgres image's `sh`, `psql`, `pg_dump`). `SOURCE_IMAGE` names the Prefect image
 * whose schema the database holds (the server's current image, or `none` before any server ran).
 */
const script = (keep: number) =>
  [
    "set -eu",
    psqlFunction,
    `if ! ${holdsPrefectSchema}; then`,
    `  echo "${backupMarker} none: the database holds no Prefect schema yet, nothing to back up" | tee /dev/termination-log`,
    "  exit 0",
    "fi",
    `revision=$(q "SELECT string_agg(version_num, '+' ORDER BY version_num) FROM alembic_version")`,
    // The image's tag, made safe for a file name: prefecthq/prefect:3.9.1-python3.12 → prefect-3.9.1-python3.12.
    `source=$(printf '%s' "\${SOURCE_IMAGE##*/}" | tr -c 'A-Za-z0-9._-' '-')`,
    'file="$(date -u +%Y%m%dT%H%M%SZ)-$source-$revision.dump"',
    `pg_dump ${connectionFlags} -Fc -f "${backupMountPath}/.partial-$file"`,
    `mv "${backupMountPath}/.partial-$file" "${backupMountPath}/$file"`,
    // Names start with the time: sorted by name is sorted by age. Only complete files count.
    `ls -1 ${backupMountPath} | grep '[.]dump$' | grep -v '^[.]' | sort | head -n -${keep} | while read -r old; do rm -f "${backupMountPath}/$old"; done`,
    `size=$(wc -c < "${backupMountPath}/$file")`,
    `echo "${backupMarker} file=$file bytes=$size" | tee /dev/termination-log`,
  ].join("\n")

/**
 * The spec of a backup Job, before a migration or on the schedule (one builder, so both write the same kind of file);
 * `sourceImage` is the image the server runs now.
 */
const backupJobSpec = (ctx: PlanContext, sourceImage: string | undefined): JobSpec => ({
  // A database restarting, a slow volume: worth two more tries, 10 s and 20 s apart.
  backoffLimit: 2,
  template: postgresToolPod(ctx, {
    component: "backup",
    script: script(ctx.workflows.database.backup.keep),
    env: [{ name: "SOURCE_IMAGE", value: sourceImage ?? "none" }],
    claimName: backupVolumeName(ctx),
    mountPath: backupMountPath,
    readOnly: false,
  }),
})

/** The backup Job before the migration of `hash`; `sourceImage` is the image the server runs now. */
export const planBackupJob = (ctx: PlanContext, hash: string, sourceImage: string | undefined): Job => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: metadata(ctx, backupJobName(ctx, hash), { ...labels(ctx, "backup"), [migrationHashLabel]: hash }),
  spec: backupJobSpec(ctx, sourceImage),
})

/** Whether backups run on a schedule: one is set, and the in-cluster database is the server's. */
export const backsUpOnSchedule = (ctx: PlanContext, revision: ServerRevision): boolean =>
  ctx.workflows.database.backup.schedule !== undefined && usesInternalDatabase(ctx, revision)

/** A scheduled backup still running after this long (a database down for hours) fails, so that the next one runs. */
const scheduledBackupDeadlineSeconds = 6 * 60 * 60

/**
 * The scheduled backups: a CronJob `<ws>-orion-backups` whose Jobs are the backup Job before a migration, run on the
 * schedule (UTC). Never two at once (`Forbid`); suspended while the database is scaled to 0 (a backup would wait for
 * it until its deadline). Its last Job of each outcome is kept for `kubectl logs`; the backup itself prunes the files.
 */
export const planBackupCronJob = (ctx: PlanContext, schedule: string, sourceImage: string): CronJob => ({
  apiVersion: "batch/v1",
  kind: "CronJob",
  metadata: metadata(ctx, backupCronJobName(ctx), labels(ctx, "backup")),
  spec: {
    schedule,
    timeZone: "Etc/UTC",
    concurrencyPolicy: "Forbid",
    suspend: ctx.workflows.databaseReplicas === 0,
    successfulJobsHistoryLimit: 1,
    failedJobsHistoryLimit: 1,
    jobTemplate: {
      metadata: { labels: labels(ctx, "backup") },
      spec: { activeDeadlineSeconds: scheduledBackupDeadlineSeconds, ...backupJobSpec(ctx, sourceImage) },
    },
  },
})

/** A backup file's name starts with its UTC time, `20261207T093000Z`: as RFC 3339. */
const fileTime = (file: string): string | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/u.exec(file)
  return m === null ? undefined : `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`
}

/** The file a successful backup's termination message names (`cartographer/backup file=<name> bytes=<n>`). */
export const backupFileOf = (message: string | undefined): LastBackup | undefined => {
  const file = message === undefined ? undefined : new RegExp(`${backupMarker} file=(\\S+)`, "u").exec(message)?.[1]
  const time = file === undefined ? undefined : fileTime(file)
  return file === undefined || time === undefined ? undefined : { file, time }
}

/** The latest scheduled backup Job (by creation), when it failed: the status says so until a later one succeeds. */
export const failedScheduledBackup = (
  observed: Observed,
): { readonly jobName: string; readonly message: string } | undefined => {
  const latest = [...(observed.scheduledBackupJobs ?? [])].sort((a, b) =>
    (a.createdAt ?? "") < (b.createdAt ?? "")
      ? -1
      : (a.createdAt ?? "") > (b.createdAt ?? "")
        ? 1
        : a.name < b.name
          ? -1
          : 1,
  )
  const last = latest[latest.length - 1]
  return last?.state === "failed" ? { jobName: last.name, message: last.message ?? "the backup Job failed" } : undefined
}

/**
 * `status.lastBackup`: the newest file a succeeded backup Job (before a migration or scheduled) reported, or the one
 * the status already names when that is newer (the Jobs that wrote it are pruned, their files stay).
 */
export const lastBackup = (observed: Observed): LastBackup | undefined => {
  const files = [...(observed.backupJobs ?? []), ...(observed.scheduledBackupJobs ?? [])]
    .filter((job) => job.state === "succeeded")
    .map((job) => backupFileOf(job.message))
  let last = observed.previousStatus?.lastBackup
  for (const file of files)
    if (
      file !== undefined &&
      (last === undefined || file.time > last.time || (file.time === last.time && file.file > last.file))
    )
      last = file
  return last
}

/**
 * Puts the backup in front of a migration gate that is not open: the migration Job is applied only once the backup Job
 * of its hash has succeeded. A migration Job that exists already had its backup; a backup Job is then only kept (for
 * its logs) while it exists and the migration is not done, never created again.
 */
export const withBackup = (
  ctx: PlanContext,
  revision: ServerRevision,
  gate: MigrationGate,
  observed: Observed,
): MigrationGate => {
  // Once the migration is done the backup Job is pruned (its file stays on the volume): kept, it would be planned
  // with another source image than it was created with, and a Job's template cannot change.
  if (!backsUp(ctx, revision) || gate.state === "done") return gate
  // Data exists once a server ran a migrated revision (an upgrade), or on a volume retained from an earlier Workspace.
  // A new database is not backed up: there is nothing to lose, and its first migration needs no backup volume bound.
  if (gate.server.kind !== "held" && observed.databaseVolumeRetained !== true) return gate
  const source = gate.server.kind === "held" ? gate.server.revision.image : undefined
  const job = planBackupJob(ctx, gate.hash, source)
  const seen = observed.backupJobs?.find((j) => j.name === job.metadata.name)
  const keep: MigrationGate = seen === undefined ? gate : { ...gate, backupJob: job }
  if (gate.state !== "pending" || seen?.state === "succeeded") return keep
  const failed = seen?.state === "failed"
  return shutBefore(gate, {
    backupJob: job,
    state: failed ? "backupFailed" : "backingUp",
    backupFailureMessage: failed ? (seen.message ?? "the backup Job failed") : undefined,
  })
}
