/**
 * "What the engine would observe after applying a plan": a pure model of a successful apply, used to state the
 * planner's properties (idempotence: planning against the observed result of a plan yields the same plan) and by the
 * offline `cartographer plan`, which prints the objects the operator converges to.
 */
import type { Workspace } from "@cartographer/schema"
import type { Deployment, KeyRef, StatefulSet } from "./kube.js"
import { labelKeys } from "./labels.js"
import { migrationHashAnnotation, migrationHashLabel } from "./migration.js"
import { migrationAttemptAnnotation } from "./migrationRetry.js"
import type {
  GeneratedSecrets,
  JobState,
  MigrationJobObservation,
  Observed,
  PoolObservation,
  WorkloadObservation,
} from "./Observed.js"
import type { Plan } from "./Plan.js"
import { plan } from "./planner.js"

export interface ApplyOutcome {
  /** Whether every workload's pods become ready (default true). */
  readonly ready?: boolean
  /** State of migration and backup Jobs the `previous` observation does not already know (default `running`). */
  readonly migration?: JobState
  /** Observation the plan was made from: its Job states are kept (applying a Job does not change its status). */
  readonly previous?: Observed
  readonly now?: string
  readonly generatedPassword?: string
  readonly generatedSecrets?: GeneratedSecrets
}

const workload = (object: Deployment | StatefulSet, ready: boolean): WorkloadObservation => {
  // A Deployment without replicas gets the API's default.
  const replicas = object.spec.replicas ?? 1
  return {
    generation: 1,
    observedGeneration: 1,
    specReplicas: replicas,
    replicas,
    readyReplicas: ready ? replicas : 0,
    updatedReplicas: replicas,
    availableReplicas: ready ? replicas : 0,
  }
}

const databaseUrlRefOf = (deployment: Deployment): KeyRef | undefined =>
  deployment.spec.template.spec.containers[0]?.env?.find((e) => e.name === "PREFECT_SERVER_DATABASE_CONNECTION_URL")
    ?.valueFrom?.secretKeyRef

export const observeApplied = (applied: Plan, outcome: ApplyOutcome = {}): Observed => {
  const ready = outcome.ready ?? true
  const previous = outcome.previous
  let seen: Pick<Observed, "secret" | "database" | "server" | "redis" | "services"> = {}
  const jobs: Array<MigrationJobObservation> = []
  const backups: Array<MigrationJobObservation> = []
  const restores: Array<MigrationJobObservation> = []
  const pools: Array<PoolObservation> = []
  const rbacNamespaces = new Set<string>()
  for (const object of applied.apply) {
    const component = object.metadata.labels[labelKeys.component]
    if (object.kind === "Secret") seen = { ...seen, secret: { data: object.data } }
    else if (object.kind === "StatefulSet")
      seen = { ...seen, database: { ...workload(object, ready), serviceName: object.spec.serviceName } }
    else if (object.kind === "Deployment" && component === "server") {
      const image = object.spec.template.spec.containers[0]?.image
      const ref = databaseUrlRefOf(object)
      const hash = object.metadata.annotations?.[migrationHashAnnotation]
      seen = {
        ...seen,
        server: {
          ...workload(object, ready),
          ...(image === undefined ? {} : { image }),
          ...(ref === undefined ? {} : { databaseUrlRef: ref }),
          ...(hash === undefined ? {} : { migrationHash: hash }),
        },
      }
    } else if (object.kind === "Deployment" && component === "redis") seen = { ...seen, redis: workload(object, ready) }
    else if (object.kind === "Deployment" && component === "services")
      seen = { ...seen, services: workload(object, ready) }
    else if (object.kind === "Deployment") {
      const pool = object.metadata.labels[labelKeys.pool]
      if (pool !== undefined) pools.push({ name: pool, ...workload(object, ready) })
    } else if (object.kind === "Job") {
      const [seenBefore, into] =
        component === "backup"
          ? [previous?.backupJobs, backups]
          : component === "restore"
            ? [previous?.restoreJobs, restores]
            : [previous?.migrationJobs, jobs]
      const known = seenBefore?.find((j) => j.name === object.metadata.name)
      const attempt = Number(object.metadata.annotations?.[migrationAttemptAnnotation] ?? "1")
      into.push(
        known ?? {
          name: object.metadata.name,
          state: outcome.migration ?? "running",
          hash: object.metadata.labels[migrationHashLabel] ?? "",
          ...(attempt > 1 ? { attempt } : {}),
        },
      )
    } else if (object.kind === "Role") rbacNamespaces.add(object.metadata.namespace)
  }
  return {
    now: outcome.now ?? previous?.now ?? "1970-01-01T00:00:00Z",
    generatedPassword: outcome.generatedPassword ?? previous?.generatedPassword ?? "",
    generatedSecrets: outcome.generatedSecrets ??
      previous?.generatedSecrets ?? { apiAuthPassword: "", redisPassword: "" },
    previousStatus: applied.status,
    ...seen,
    ...(jobs.length > 0 ? { migrationJobs: jobs } : {}),
    ...(backups.length > 0 ? { backupJobs: backups } : {}),
    ...(restores.length > 0 ? { restoreJobs: restores } : {}),
    ...(pools.length > 0 ? { pools } : {}),
    ...(rbacNamespaces.size > 0 ? { rbacNamespaces: [...rbacNamespaces].sort() } : {}),
    // Not made by applying: the user's Secrets stay as they were.
    ...(previous?.referencedSecrets === undefined ? {} : { referencedSecrets: previous.referencedSecrets }),
  }
}

/**
 * The plan the operator converges to when everything succeeds: planned from what is observed (offline, nothing but
 * the time and a password), applied, the migration succeeded, planned again until nothing changes. What
 * `cartographer plan` prints (like `helm template`), and what `cartographer diff` compares with the cluster.
 */
export const convergedPlan = (workspace: Workspace, observed: Observed): Plan => {
  const outcome = {
    now: observed.now,
    generatedPassword: observed.generatedPassword,
    generatedSecrets: observed.generatedSecrets,
    migration: "succeeded",
    ready: true,
  } as const
  // Each round applies the plan and lets every Job succeed: the backup, then the migration, then the server's
  // rollout, until the plan applies what it applied before (at most five rounds: each step is one round).
  let current = plan(workspace, observed)
  for (let round = 0; round < 5; round++) {
    const next = plan(workspace, observeApplied(current, outcome))
    if (JSON.stringify(next.apply) === JSON.stringify(current.apply)) return next
    current = next
  }
  return current
}
