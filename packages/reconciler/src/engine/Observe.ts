/**
 * From live objects to what the planner observes (`Observed`), and from a child to the Workspace it belongs to.
 * Pure functions over plain JSON: the engine feeds them from its caches.
 */
import type { KubeObject, Live } from "@cartographer/k8s"
import type { WorkspaceStatus } from "@cartographer/schema"
import { apiVersion as workspaceApiVersion, kind as workspaceKind } from "@cartographer/schema"
import { labelKeys } from "../plan/labels.js"
import { migrationHashAnnotation, migrationHashLabel } from "../plan/migration.js"
import { migrationAttemptAnnotation } from "../plan/migrationRetry.js"
import type {
  DatabaseObservation,
  GeneratedSecrets,
  JobState,
  MigrationJobObservation,
  Observed,
  PoolObservation,
  SecretObservation,
  ServerObservation,
  WorkloadObservation,
} from "../plan/Observed.js"
import { podProblemsOf } from "./PodDiagnosis.js"

type Json = Record<string, unknown>

const record = (value: unknown): Json | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined
const list = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : [])
const int = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isInteger(value) ? value : undefined
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

/** `A` with optional fields that may also be `undefined` (what `defined` accepts). */
type Loose<A> = { readonly [K in keyof A]?: A[K] | undefined }

/** Drops `undefined` values, so observations compare and print cleanly. */
const defined = <A extends object>(value: Loose<A>): A =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as A

interface Condition {
  readonly type?: string
  readonly status?: string
  readonly reason?: string
  readonly message?: string
  readonly lastTransitionTime?: string
}

const conditions = (object: KubeObject): ReadonlyArray<Condition> =>
  list(record(object.status)?.conditions).filter((c): c is Condition => record(c) !== undefined)

/** Replica counts of a Deployment or StatefulSet. */
export const workloadOf = (object: Live<KubeObject>): WorkloadObservation => {
  const spec = record(object.spec)
  const status = record(object.status)
  return defined<WorkloadObservation>({
    generation: object.metadata.generation,
    observedGeneration: int(status?.observedGeneration),
    specReplicas: int(spec?.replicas),
    replicas: int(status?.replicas),
    readyReplicas: int(status?.readyReplicas),
    updatedReplicas: int(status?.updatedReplicas),
    availableReplicas: int(status?.availableReplicas),
    progressDeadlineExceeded: conditions(object).some(
      (c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded",
    )
      ? true
      : undefined,
  })
}

/** The Postgres StatefulSet, with the Service that governs it. */
export const databaseOf = (object: Live<KubeObject>): DatabaseObservation =>
  defined<DatabaseObservation>({ ...workloadOf(object), serviceName: str(record(object.spec)?.serviceName) })

const serverContainer = "orion-server"

/** The server Deployment, with the image and database its pods run and the migration it was rolled out after. */
export const serverOf = (object: Live<KubeObject>): ServerObservation => {
  const template = record(record(record(object.spec)?.template)?.spec)
  const containers = list(template?.containers).map(record)
  const container = containers.find((c) => c?.name === serverContainer) ?? containers[0]
  const env = list(container?.env).map(record)
  const url = env.find((e) => e?.name === "PREFECT_SERVER_DATABASE_CONNECTION_URL")
  const ref = record(record(url?.valueFrom)?.secretKeyRef)
  const refName = str(ref?.name)
  const refKey = str(ref?.key)
  return defined<ServerObservation>({
    ...workloadOf(object),
    image: str(container?.image),
    databaseUrlRef: refName !== undefined && refKey !== undefined ? { name: refName, key: refKey } : undefined,
    migrationHash: object.metadata.annotations?.[migrationHashAnnotation],
  })
}

/** A Job's state from its final conditions (`Complete` / `Failed`); anything else is still running. */
export const jobStateOf = (
  object: KubeObject,
): { readonly state: JobState; readonly message?: string; readonly failedAt?: string } => {
  const all = conditions(object)
  if (all.some((c) => c.type === "Complete" && c.status === "True")) return { state: "succeeded" }
  const failed = all.find((c) => c.type === "Failed" && c.status === "True")
  if (failed !== undefined) {
    const message = [failed.reason, failed.message].filter((part) => part !== undefined && part !== "").join(": ")
    return defined({
      state: "failed" as const,
      message: message === "" ? undefined : message,
      failedAt: str(failed.lastTransitionTime),
    })
  }
  return { state: "running" }
}

/**
 * The termination message of the container that terminated last among a Job's pods: the last attempt's words (the
 * API lists pods by name, which for a Job's pods is random).
 */
export const lastTerminationMessage = (pods: ReadonlyArray<KubeObject>): string | undefined => {
  let last: { readonly at: string; readonly message: string } | undefined
  for (const pod of pods) {
    for (const status of list(record(pod.status)?.containerStatuses)) {
      const terminated = record(record(record(status)?.state)?.terminated)
      const message = str(terminated?.message)?.trim()
      if (message === undefined || message === "") continue
      const at = str(terminated?.finishedAt) ?? ""
      if (last === undefined || at >= last.at) last = { at, message }
    }
  }
  return last?.message
}

/** The Workspace a child belongs to (`namespace/name`): its controller owner, else its labels. */
export const workspaceKeyOf = (object: Live<KubeObject>): string | undefined => {
  const owner = object.metadata.ownerReferences?.find(
    (ref) => ref.controller === true && ref.kind === workspaceKind && ref.apiVersion === workspaceApiVersion,
  )
  if (owner !== undefined && object.metadata.namespace !== undefined)
    return `${object.metadata.namespace}/${owner.name}`
  const labels = object.metadata.labels ?? {}
  const environment = labels[labelKeys.environment]
  const namespace = labels[labelKeys.workspaceNamespace] ?? object.metadata.namespace
  return environment === undefined || namespace === undefined ? undefined : `${namespace}/${environment}`
}

/** The uid of an object's controller, if it has one. */
export const controllerUidOf = (object: Live<KubeObject>): string | undefined =>
  object.metadata.ownerReferences?.find((ref) => ref.controller === true)?.uid

/** What the planner is told about the children of one Workspace. */
export interface Children {
  readonly secret: Live<KubeObject> | undefined
  readonly database: Live<KubeObject> | undefined
  readonly server: Live<KubeObject> | undefined
  readonly redis: Live<KubeObject> | undefined
  readonly services: Live<KubeObject> | undefined
  /** This Workspace's Deployments (server, Redis and pools alike; pools are told apart by label). */
  readonly deployments: ReadonlyArray<Live<KubeObject>>
  readonly jobs: ReadonlyArray<Live<KubeObject>>
  /** The Jobs of the scheduled backups' CronJob. */
  readonly scheduledBackupJobs?: ReadonlyArray<Live<KubeObject>>
  readonly roles: ReadonlyArray<Live<KubeObject>>
  /** Termination messages of failed migration and finished backup Jobs' pods, by Job name, when the engine read them. */
  readonly jobMessages?: ReadonlyMap<string, string>
  /** The Workspace's pods and the namespace's FailedMount Events, read while a workload is not ready. */
  readonly pods?: ReadonlyArray<Live<KubeObject>>
  readonly mountEvents?: ReadonlyArray<Live<KubeObject>>
  /** The Secrets the spec names that Cartographer does not make, when the engine read them (keys only). */
  readonly referencedSecrets?: ReadonlyArray<SecretObservation>
  /** The database volume predates the Workspace (retained from an earlier one). */
  readonly databaseVolumeRetained?: boolean
}

/** The attempt number a migration Job carries (absent on the first attempt). */
const attemptOf = (job: Live<KubeObject>): number | undefined => {
  const value = job.metadata.annotations?.[migrationAttemptAnnotation]
  const n = value === undefined ? Number.NaN : Number(value)
  return Number.isInteger(n) && n >= 1 ? n : undefined
}

const migrationJobOf = (job: Live<KubeObject>, extra: string | undefined): MigrationJobObservation => {
  const { state, message, failedAt } = jobStateOf(job)
  const full = [message, extra].filter((part) => part !== undefined && part !== "").join("\n")
  return defined<MigrationJobObservation>({
    name: job.metadata.name,
    state,
    message: full === "" ? undefined : full,
    hash: job.metadata.labels?.[migrationHashLabel],
    attempt: attemptOf(job),
    createdAt: job.metadata.creationTimestamp,
    failedAt,
  })
}

const byName = <A extends { readonly name: string }>(a: A, b: A) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

export const observedOf = (input: {
  readonly now: string
  readonly generatedPassword: string
  readonly generatedSecrets: GeneratedSecrets
  readonly previousStatus: WorkspaceStatus | undefined
  readonly children: Children
}): Observed => {
  const { children } = input
  const data = record(children.secret?.data)
  const pools: Array<PoolObservation> = []
  for (const deployment of children.deployments) {
    const labels = deployment.metadata.labels ?? {}
    const pool = labels[labelKeys.pool]
    if (labels[labelKeys.component] === "agent" && pool !== undefined)
      pools.push({ name: pool, ...workloadOf(deployment) })
  }
  const jobsOf = (component: "migration" | "backup" | "restore") =>
    children.jobs
      .filter((job) => job.metadata.labels?.[labelKeys.component] === component)
      .map((job) => migrationJobOf(job, children.jobMessages?.get(job.metadata.name)))
  const jobs = jobsOf("migration")
  const backups = jobsOf("backup")
  const restores = jobsOf("restore")
  const scheduled = (children.scheduledBackupJobs ?? []).map((job) =>
    migrationJobOf(job, children.jobMessages?.get(job.metadata.name)),
  )
  const podProblems = podProblemsOf({
    deployments: children.deployments,
    pods: children.pods ?? [],
    mountEvents: children.mountEvents ?? [],
  })
  const rbacNamespaces = [
    ...new Set(children.roles.map((role) => role.metadata.namespace).filter((ns) => ns !== undefined)),
  ].sort()
  return defined<Observed>({
    now: input.now,
    generatedPassword: input.generatedPassword,
    generatedSecrets: input.generatedSecrets,
    previousStatus: input.previousStatus,
    secret:
      data === undefined
        ? children.secret === undefined
          ? undefined
          : { data: {} }
        : {
            data: Object.fromEntries(Object.entries(data).filter(([, v]) => typeof v === "string")) as Record<
              string,
              string
            >,
          },
    database: children.database === undefined ? undefined : databaseOf(children.database),
    server: children.server === undefined ? undefined : serverOf(children.server),
    redis: children.redis === undefined ? undefined : workloadOf(children.redis),
    services: children.services === undefined ? undefined : workloadOf(children.services),
    migrationJobs: jobs.length === 0 ? undefined : jobs.sort(byName),
    backupJobs: backups.length === 0 ? undefined : backups.sort(byName),
    scheduledBackupJobs: scheduled.length === 0 ? undefined : scheduled.sort(byName),
    restoreJobs: restores.length === 0 ? undefined : restores,
    databaseVolumeRetained: children.databaseVolumeRetained === true ? true : undefined,
    pools: pools.length === 0 ? undefined : pools.sort(byName),
    rbacNamespaces: rbacNamespaces.length === 0 ? undefined : rbacNamespaces,
    podProblems: podProblems.length === 0 ? undefined : podProblems,
    referencedSecrets: children.referencedSecrets,
  })
}
