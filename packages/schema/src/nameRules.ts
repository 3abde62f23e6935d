/**
 * Kubernetes' rules for names and labels, and the limits they put on a Workspace's and a pool's name so that every
 * name derived from them (`Names.ts`) stays valid.
 *
 * They live beside the Schema (not in the planner) because the Schema must refuse a Workspace or pool name whose
 * derived names would not fit Kubernetes' 63-character limits; one definition serves both.
 */

/** RFC 1123 label: lowercase alphanumerics and `-`, starting and ending alphanumeric (pool names, label values). */
export const dns1123LabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/u
/** RFC 1035 label: as above but starting with a letter (required of Service names, so of the Workspace name). */
export const dns1035LabelPattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/u
/** Kubernetes' limit for labels, label values and Service, Job and ServiceAccount names. */
export const maxLabelLength = 63

/** A label value: empty, or alphanumerics with `-`, `_` and `.` inside, at most 63 characters. */
export const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/u
/**
 * A qualified name (label and annotation keys, taint keys): an optional DNS-subdomain prefix and `/`, then a name of
 * alphanumerics with `-`, `_` and `.` inside. Written with plain groups only, so that JavaScript and the API server's
 * RE2 read it alike. The prefix' 253 and the name's 63 characters are not told apart: `maxQualifiedNameLength` bounds
 * the whole.
 */
export const qualifiedNamePattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/u
export const maxQualifiedNameLength = 253 + 1 + maxLabelLength

/** Suffixes appended to the Workspace name; the longest decides how long a Workspace name may be. */
export const childSuffix = {
  secret: "-environment-secrets",
  database: "-orion-database",
  /** The headless Service that governs the Postgres StatefulSet (its `serviceName`). */
  databaseHeadless: "-orion-database-headless",
  databaseVolume: "-orion-database-pvc",
  server: "-orion-server",
  redis: "-orion-redis",
  services: "-orion-services",
  migration: "-orion-migrate-", // + 8 hex characters of the migration hash
  backup: "-orion-backup-", // + the migration hash it runs before (shorter than `migration`: no new length rule)
  backupVolume: "-orion-database-backup",
  /** The Job restoring `spec.workflows.database.restoreFrom`, + the hash of its content (as long as `migration`). */
  restore: "-orion-restore-",
  /** The scheduled backups' CronJob (see `maxWorkspaceNameLength`). */
  backupSchedule: "-orion-backups",
  agent: "-agent-", // + pool name
} as const

/** Length of the hash that names a migration Job. */
export const migrationHashLength = 8

/**
 * A StatefulSet's pods carry the label `controller-revision-hash=<statefulset>-<hash of up to 10 characters>`, so a
 * StatefulSet name longer than 63 - 11 = 52 makes every pod creation fail.
 */
export const maxStatefulSetNameLength = maxLabelLength - 11

/**
 * The longest Workspace name whose derived names all work. Two limits bind: the migration Job
 * `<ws>-orion-migrate-<8 hex>` (a Job name becomes its pods' `job-name` label, 63 at most) allows 36 + 1, and the
 * Postgres StatefulSet `<ws>-orion-database` (see `maxStatefulSetNameLength`) allows 37. The stricter one wins.
 */
export const maxWorkspaceNameLength = Math.min(
  maxLabelLength - childSuffix.migration.length - migrationHashLength,
  maxStatefulSetNameLength - childSuffix.database.length,
  // A Service name is a DNS-1035 label: the headless database Service is the longest (it does not bind today).
  maxLabelLength - childSuffix.databaseHeadless.length,
  // A CronJob name has the StatefulSet's limit, 52 (its Jobs' names append 11 characters); it does not bind today.
  maxStatefulSetNameLength - childSuffix.backupSchedule.length,
)

/** How long a pool name may be for `<workspace>-agent-<pool>` to fit in 63 characters. */
export const maxPoolNameLength = (workspace: string): number =>
  maxLabelLength - workspace.length - childSuffix.agent.length
