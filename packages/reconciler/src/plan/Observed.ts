/**
 * What the planner knows about the world: the Workspace's children as the engine last saw them, reduced to the facts
 * a decision needs, plus the two inputs a pure function cannot make itself (the time and a random password).
 *
 * The engine builds this from its watch caches; tests build it by hand or with `observeApplied`. Every child is
 * optional: absent means "does not exist".
 */
import type { WorkspaceStatus } from "@cartographer/schema"
import type { KeyRef } from "./kube.js"

/** Replica counts of a Deployment or StatefulSet (`metadata.generation` and `status`). */
export interface WorkloadObservation {
  readonly generation?: number
  readonly observedGeneration?: number
  /** `spec.replicas` as it is now (before this plan is applied). */
  readonly specReplicas?: number
  /** `status.replicas`: pods that exist, old and new. */
  readonly replicas?: number
  readonly readyReplicas?: number
  readonly updatedReplicas?: number
  readonly availableReplicas?: number
  /** The Deployment's `Progressing` condition has reason `ProgressDeadlineExceeded`. */
  readonly progressDeadlineExceeded?: boolean
}

/** The Postgres StatefulSet, with the Service that governs it (immutable: a change means a new StatefulSet). */
export interface DatabaseObservation extends WorkloadObservation {
  /** `spec.serviceName`. */
  readonly serviceName?: string
}

/** The server Deployment, with what the migration gate needs to hold it on its current revision. */
export interface ServerObservation extends WorkloadObservation {
  /** Image of the `orion-server` container. */
  readonly image?: string
  /** Where its `PREFECT_SERVER_DATABASE_CONNECTION_URL` comes from. */
  readonly databaseUrlRef?: KeyRef
  /** The `mlops.aigency.com/migration-hash` annotation: the migration its current revision was rolled out after. */
  readonly migrationHash?: string
}

export type JobState = "running" | "succeeded" | "failed"

/** A migration Job (`<ws>-orion-migrate-<hash>`, or a later attempt of it: see `migrationRetry.ts`). */
export interface MigrationJobObservation {
  readonly name: string
  /** `succeeded`: condition Complete=True; `failed`: condition Failed=True; otherwise `running`. */
  readonly state: JobState
  /** For a failed Job: the Failed condition's message and, when the engine has it, the pod's termination message. */
  readonly message?: string
  /** The migration hash it runs (label `mlops.aigency.com/migration-hash`). Absent: known by its name only. */
  readonly hash?: string
  /** Which attempt at that migration it is (annotation `mlops.aigency.com/migration-attempt`). Default 1. */
  readonly attempt?: number
  /** RFC 3339: `metadata.creationTimestamp`. */
  readonly createdAt?: string
  /** RFC 3339: when its Failed condition became True. */
  readonly failedAt?: string
}

/**
 * Why pods of a component do not run, as Kubernetes says it: pods it refused to create (a missing ServiceAccount or
 * PriorityClass, a quota), pods no node fits (node selector, tolerations, affinity), containers that cannot be
 * created (a missing Secret or ConfigMap of `envFrom`, an image that cannot be pulled), volumes that cannot be
 * mounted. Read by the engine only while a workload is not ready.
 */
export interface PodProblem {
  /** The `mlops.aigency.com/component` of the pods (or of the workload that could not create them). */
  readonly component: string
  /** The `mlops.aigency.com/pool`, for workers. */
  readonly pool?: string
  /** Kubernetes' reason: `FailedCreate`, `Unschedulable`, `CreateContainerConfigError`, `FailedMount`, ... */
  readonly reason: string
  readonly message: string
}

/** A Secret the spec names but Cartographer does not make (see references.ts): never its values. */
export interface SecretObservation {
  readonly namespace: string
  readonly name: string
  /** Keys holding a non-empty value, sorted. Absent: the Secret does not exist. */
  readonly keys?: ReadonlyArray<string>
  /** RFC 3339: when it last changed (the latest write the API server recorded), if known. */
  readonly changedAt?: string
}

export interface PoolObservation extends WorkloadObservation {
  /** Pool name (the `mlops.aigency.com/pool` label of `<ws>-agent-<pool>`). */
  readonly name: string
}

/** Fresh random passwords for the credentials besides the database's, each used only while its key does not exist. */
export interface GeneratedSecrets {
  /** The password of generated basic auth credentials (user `admin`). */
  readonly apiAuthPassword: string
  /** The in-cluster Redis's password. */
  readonly redisPassword: string
}

export interface Observed {
  /** RFC 3339; stamped on conditions whose status flips. */
  readonly now: string
  /** Used only when the database Secret does not exist yet; never rotates an existing one. */
  readonly generatedPassword: string
  /** Used only for keys the Workspace's Secret does not hold yet; never rotates an existing one. */
  readonly generatedSecrets: GeneratedSecrets
  /** The status as last written: conditions keep their `lastTransitionTime` unless their status flips. */
  readonly previousStatus?: WorkspaceStatus
  /** `<ws>-environment-secrets` with its base64 `data`, as the API server returns it. */
  readonly secret?: { readonly data: Readonly<Record<string, string>> }
  /** The Postgres StatefulSet `<ws>-orion-database`. */
  readonly database?: DatabaseObservation
  /** The server Deployment `<ws>-orion-server`. */
  readonly server?: ServerObservation
  /** The Redis Deployment `<ws>-orion-redis`. */
  readonly redis?: WorkloadObservation
  /** The background services Deployment `<ws>-orion-services` (several server replicas). */
  readonly services?: WorkloadObservation
  /** Migration Jobs of this Workspace (current and older hashes). */
  readonly migrationJobs?: ReadonlyArray<MigrationJobObservation>
  /**
   * The database volume predates the Workspace: it was retained from an earlier Workspace of the same name and holds
   * its data, so even the first migration is backed up.
   */
  readonly databaseVolumeRetained?: boolean
  /**
   * Backup Jobs before migrations (`<ws>-orion-backup-<hash>`), observed as migration Jobs are; a succeeded one's
   * `message` is its pod's termination message (the file it wrote).
   */
  readonly backupJobs?: ReadonlyArray<MigrationJobObservation>
  /** The restore Job `<ws>-orion-restore-<hash>` (`restore.ts`), observed as migration Jobs are. */
  readonly restoreJobs?: ReadonlyArray<MigrationJobObservation>
  /** The Jobs of the scheduled backups' CronJob `<ws>-orion-backups`, observed as `backupJobs`. */
  readonly scheduledBackupJobs?: ReadonlyArray<MigrationJobObservation>
  /** Worker-pool Deployments `<ws>-agent-<pool>` that exist, including pools no longer in the spec. */
  readonly pools?: ReadonlyArray<PoolObservation>
  /**
   * The Secrets the spec names that Cartographer does not make, as far as the engine could see them. A Secret left
   * out was not looked at (offline planning, a namespace the operator does not watch): the plan assumes it is usable.
   */
  readonly referencedSecrets?: ReadonlyArray<SecretObservation>
  /**
   * Namespaces holding this Workspace's pool Roles/RoleBindings (label `mlops.aigency.com/workspace-namespace`), so
   * that RBAC left in a job namespace no pool uses any more is pruned there too.
   */
  readonly rbacNamespaces?: ReadonlyArray<string>
  /** Why pods of this Workspace do not run, one per component and reason (sorted). */
  readonly podProblems?: ReadonlyArray<PodProblem>
}

/** Nothing exists yet (a new Workspace, or the offline `cartographer plan`). */
export const nothingObserved = (
  inputs: Pick<Observed, "now" | "generatedPassword" | "generatedSecrets">,
): Observed => ({
  now: inputs.now,
  generatedPassword: inputs.generatedPassword,
  generatedSecrets: inputs.generatedSecrets,
})
