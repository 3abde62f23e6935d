/**
 * The Workspace resource (`mlops.aigency.com/v1alpha1`): one Effect Schema that is the single source of the
 * decoder, the CRD (see `crd.ts`), the editor JSON Schema and the `cartographer-validate` CLI.
 *
 * The original Cartographer's `spec.workflows.{image, controllerReplicas, databaseReplicas, storageQuota,
 * agentPools[{name, image, replicas}]}` is accepted unchanged; every extension is optional with a stated default.
 */
import { Effect, Schema } from "effect"
import { DatabaseBackup } from "./Backup.js"
import { BasicAuth } from "./BasicAuth.js"
import { Env } from "./Container.js"
import { onlyWhen } from "./cel.js"
import { workflowsIssues } from "./crossField.js"
import { PoolDisruptionBudget } from "./Disruption.js"
import * as Defaults from "./defaults.js"
import { HttpRoute, Ingress } from "./Exposure.js"
import { Image, NonEmptyString, NonNegativeInt, ObjectName, withDefault } from "./fields.js"
import { PoolServiceAccount } from "./Identity.js"
import { JobTemplate } from "./JobTemplate.js"
import { DatabaseLossRestartSeconds } from "./Liveness.js"
import { Metrics } from "./Metrics.js"
import { mountFields, mountsNameVolumes } from "./Mounts.js"
import { agentName } from "./Names.js"
import {
  dns1035LabelPattern,
  dns1123LabelPattern,
  maxLabelLength,
  maxPoolNameLength,
  maxWorkspaceNameLength,
} from "./nameRules.js"
import { positiveQuantity } from "./Quantity.js"
import { RedisSpec } from "./Redis.js"
import { Resources } from "./Resources.js"
import { RestoreFrom } from "./Restore.js"
import { Retention } from "./Retention.js"
import { placementFields } from "./Scheduling.js"
import { WorkspaceStatus } from "./WorkspaceStatus.js"

export const group = "mlops.aigency.com"
export const version = "v1alpha1"
export const apiVersion = `${group}/${version}`
export const kind = "Workspace"
export const plural = "workspaces"

const Replicas = NonNegativeInt.check(Schema.isLessThanOrEqualTo(1000, { message: "must be at most 1000" }))

export const PoolType = Schema.Literals(["process", "kubernetes"]).annotate({
  description:
    "Prefect worker type. `process` runs flow runs as subprocesses of the worker; `kubernetes` runs each flow run as " +
    "a Kubernetes Job in `jobNamespace` (the pool gets its own ServiceAccount and least-privilege Role).",
})
export type PoolType = typeof PoolType.Type

export const AgentPool = Schema.Struct({
  name: Schema.String.check(
    Schema.isMaxLength(maxLabelLength, { message: "must be at most 63 characters" }),
    Schema.isPattern(dns1123LabelPattern, {
      message:
        "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. default, gpu-jobs)",
    }),
  ).annotate({
    description:
      "Name of the pool: the Prefect work pool's name and part of the Deployment name `<workspace>-agent-<name>`.",
  }),
  image: Schema.optionalKey(Image).annotate({
    description:
      "Worker image. Defaults to `spec.workflows.image`; for `kubernetes` pools, an official `prefecthq/prefect` tag " +
      "without a flavor becomes its `-kubernetes` variant (which carries prefect-kubernetes), e.g. " +
      `${Defaults.defaultKubernetesWorkerImage}; any other image is used as given.`,
  }),
  replicas: withDefault(
    Replicas,
    Defaults.defaultPoolReplicas,
    "Number of worker processes (pods) polling this pool. 0 pauses the pool.",
  ),
  type: withDefault(PoolType, Defaults.defaultPoolType),
  autoscaled: Schema.optionalKey(Schema.Boolean).annotate({
    description:
      "Leave the number of workers to a HorizontalPodAutoscaler (or any other controller) that scales the Deployment " +
      "`<workspace>-agent-<name>`: Cartographer stops setting its `replicas` and ignores `replicas` above. When " +
      "switched on, the Deployment falls back to 1 replica until the autoscaler sets it. Default false.",
  }),
  concurrencyLimit: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1, { message: "must be 1 or more (leave it out for no limit)" })),
  ).annotate({
    description: "Maximum concurrent flow runs per worker (`prefect worker start --limit`). No limit when absent.",
  }),
  workQueues: Schema.optionalKey(
    Schema.Array(NonEmptyString).annotate({ description: "Work queues to poll; all queues of the pool when absent." }),
  ),
  jobNamespace: Schema.optionalKey(
    Schema.String.check(
      Schema.isMaxLength(maxLabelLength, { message: "must be at most 63 characters" }),
      Schema.isPattern(dns1123LabelPattern, { message: "must be a namespace name (DNS-1123 label)" }),
    ),
  ).annotate({
    description:
      "For `kubernetes` pools: the namespace flow-run Jobs are created in. Defaults to the Workspace's namespace.",
  }),
  resources: Schema.optionalKey(Resources),
  env: Schema.optionalKey(Env).annotate({
    description:
      "Extra environment variables of the pool's workers; they may not override the variables Cartographer sets. " +
      "`EXTRA_PIP_PACKAGES` (as the Prefect images document it) is installed by an init container into a volume " +
      "on the workers' `PYTHONPATH` (their root filesystem is read-only), with the pool's other variables, such as " +
      "`UV_INDEX_URL`, applied to the install; process pools' flow runs see the packages. Flow-run Jobs of " +
      "`kubernetes` pools do not: use an image that has them (`jobTemplate.image`).",
  }),
  ...mountFields,
  serviceAccount: Schema.optionalKey(PoolServiceAccount),
  ...placementFields("component"),
  podDisruptionBudget: Schema.optionalKey(PoolDisruptionBudget),
  jobTemplate: Schema.optionalKey(JobTemplate),
})
  .annotate({ description: "A pool of Prefect workers." })
  .check(
    mountsNameVolumes(),
    onlyWhen<{ readonly type: PoolType; readonly jobTemplate?: unknown }>({
      field: "jobTemplate",
      holds: (pool) => pool.type === "kubernetes",
      cel: "self.type == 'kubernetes'",
      reason: "applies only to type kubernetes: a process pool runs no Jobs",
    }),
  )
export type AgentPool = typeof AgentPool.Type

const LogLevel = Schema.Literals(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])

export const ServerSpec = Schema.Struct({
  resources: Schema.optionalKey(Resources),
  uiApiUrl: Schema.optionalKey(NonEmptyString).annotate({
    description:
      "The API URL the Prefect UI in the browser calls (`PREFECT_UI_API_URL`). When absent (or the old default " +
      `${Defaults.defaultUiApiUrl}), it is derived: \`https://<host><path>/api\` from \`ingress.host\` (\`http://\` ` +
      "without `ingress.tlsSecretName`), else from the first of `httpRoute.hostnames` (`httpRoute.https`), else " +
      `\`${Defaults.defaultUiApiUrl}\`, which works through \`kubectl port-forward svc/<workspace>-orion-server 4200:4200\`.`,
  }),
  logLevel: withDefault(LogLevel, Defaults.defaultLogLevel, "Prefect server log level."),
  env: Schema.optionalKey(Env),
  ...mountFields,
  ...placementFields("component"),
  ingress: Schema.optionalKey(Ingress),
  httpRoute: Schema.optionalKey(HttpRoute),
  basicAuth: withDefault(BasicAuth, {}, "Basic auth on the server's API (off by default)."),
  metrics: withDefault(Metrics, {}, "Prometheus metrics of the server (off by default)."),
  databaseLossRestartSeconds: DatabaseLossRestartSeconds,
  // Resources' own description (how they are checked) is what the CRD shows; the field's name says whose they are.
  servicesResources: Schema.optionalKey(Resources),
}).annotate({
  description:
    "Settings of the Prefect server (`<workspace>-orion-server`); with `controllerReplicas` > 1 they also apply to " +
    "its background services (`<workspace>-orion-services`): their placement, pod metadata, `envFrom` and volumes " +
    "are the server's, their compute resources `servicesResources`.",
})
export type ServerSpec = typeof ServerSpec.Type

export const ExternalDatabase = Schema.Struct({
  secretRef: Schema.Struct({
    name: ObjectName.annotate({ description: "Name of the Secret in the Workspace's namespace." }),
    key: withDefault(
      NonEmptyString,
      Defaults.defaultExternalDatabaseKey,
      "Key holding the `postgresql+asyncpg://user:password@host:5432/db` connection URL.",
    ),
  }).annotate({ description: "Secret holding the connection URL." }),
}).annotate({
  description:
    "Use an existing PostgreSQL database instead of the in-cluster one (for HA Postgres, backups and replication).",
})
export type ExternalDatabase = typeof ExternalDatabase.Type

export const DatabaseSpec = Schema.Struct({
  image: Schema.optionalKey(Image).annotate({
    description: `PostgreSQL image of the in-cluster database. Default ${Defaults.defaultPostgresImage}.`,
  }),
  resources: Schema.optionalKey(Resources),
  external: Schema.optionalKey(ExternalDatabase),
  deleteVolumeWithWorkspace: withDefault(
    Schema.Boolean,
    false,
    "Delete the database volume when the Workspace is deleted. By default it is retained (and reused by a " +
      "Workspace of the same name).",
  ),
  backup: withDefault(DatabaseBackup, {}, "Backups of the in-cluster database."),
  restoreFrom: Schema.optionalKey(RestoreFrom),
  retention: withDefault(Retention, {}, "How long Prefect keeps flow runs and events (its database vacuum)."),
  ...placementFields("component"),
}).annotate({ description: "The Prefect database." })
export type DatabaseSpec = typeof DatabaseSpec.Type

export const MigrationSpec = Schema.Struct({
  ...placementFields("component"),
}).annotate({
  description:
    "The database migration Job (`<workspace>-orion-migrate-<hash>`). It also gets the server's `envFrom`, " +
    "`volumes` and `volumeMounts`, so that it reads the database settings the server reads.",
})

// The quantity's description and default must sit on its encoded side (see Quantity.ts), so no `withDefault` here.
const StorageQuota = positiveQuantity({
  default: Defaults.defaultStorageQuota,
  description: "Size of the database volume (a Kubernetes quantity). Growing it needs an expandable storage class.",
})

export const Workflows = Schema.Struct({
  image: withDefault(
    Image,
    Defaults.defaultPrefectImage,
    `Prefect 3 image of the server, the migration Job and process workers. Default ${Defaults.defaultPrefectImage}.`,
  ),
  imagePullPolicy: withDefault(
    Schema.Literals(["Always", "IfNotPresent", "Never"]),
    Defaults.defaultImagePullPolicy,
    "Pull policy of every container.",
  ),
  imagePullSecrets: Schema.optionalKey(
    Schema.Array(ObjectName).annotate({ description: "Names of Secrets used to pull the images." }),
  ),
  controllerReplicas: withDefault(
    Replicas,
    Defaults.defaultControllerReplicas,
    "Replicas of the Prefect server. More than 1 adds Redis and Prefect's HA settings.",
  ),
  databaseReplicas: withDefault(
    NonNegativeInt.check(
      Schema.isLessThanOrEqualTo(1, {
        message:
          "must be 0 or 1: the in-cluster Postgres is a single instance (Postgres replication is not provided); " +
          "for a replicated database set spec.workflows.database.external.secretRef",
      }),
    ),
    Defaults.defaultDatabaseReplicas,
    "1 runs the in-cluster Postgres, 0 stops it (data is kept).",
  ),
  storageQuota: Schema.withDecodingDefaultKey<typeof StorageQuota, never>(Effect.succeed(Defaults.defaultStorageQuota))(
    StorageQuota,
  ),
  storageClassName: Schema.optionalKey(ObjectName).annotate({
    description: "Storage class of the database volume. The cluster's default class when absent.",
  }),
  // Annotate before the checks: an annotation after a custom filter belongs to that filter and is not emitted.
  agentPools: Schema.Array(AgentPool)
    .annotate({ description: "Pools of Prefect workers; at least one." })
    .check(
      Schema.isMinLength(1, { message: "must list at least one pool, e.g. [{ name: default }]" }),
      Schema.isMaxLength(50, { message: "must list at most 50 pools" }),
      Schema.makeFilter((pools: ReadonlyArray<AgentPool>) => {
        const seen = new Set<string>()
        const issues: Array<Schema.FilterIssue> = []
        pools.forEach((pool, index) => {
          if (seen.has(pool.name)) {
            issues.push({
              path: [index, "name"],
              issue: `duplicate pool name "${pool.name}": pool names must be unique`,
            })
          }
          seen.add(pool.name)
        })
        return issues
      }),
    ),
  server: withDefault(ServerSpec, {}, "Settings of the Prefect server (`<workspace>-orion-server`)."),
  database: withDefault(DatabaseSpec, {}, "The Prefect database: in-cluster Postgres (default) or external."),
  redis: Schema.optionalKey(RedisSpec),
  migration: Schema.optionalKey(MigrationSpec),
  networkPolicy: withDefault(
    Schema.Struct({
      enabled: withDefault(
        Schema.Boolean,
        true,
        "Restrict Postgres to the server and migrations, and Redis to the server.",
      ),
    }),
    {},
    "NetworkPolicies for the Workspace's data stores.",
  ),
  ...placementFields("workspace"),
})
  .annotate({ description: "The Prefect deployment of the Workspace." })
  .check(mountsNameVolumes<{ readonly server: ServerSpec }>("server"))
export type Workflows = typeof Workflows.Type

export const WorkspaceSpec = Schema.Struct({
  workflows: Workflows,
}).annotate({ description: "What the Workspace should run." })
export type WorkspaceSpec = typeof WorkspaceSpec.Type

/**
 * The metadata Cartographer reads. Other metadata fields (finalizers, managedFields, ...) are allowed and kept, so
 * that strict validation of files flags typos in `spec` without flagging ordinary Kubernetes metadata.
 */
export const WorkspaceMetadata = Schema.StructWithRest(
  Schema.Struct({
    name: Schema.String.check(
      Schema.isMinLength(1, { message: "must not be empty" }),
      Schema.isMaxLength(maxWorkspaceNameLength, {
        message: `must be at most ${maxWorkspaceNameLength} characters, so that every derived object name and its pods' labels fit in 63 characters`,
      }),
      Schema.isPattern(dns1035LabelPattern, {
        message:
          "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending alphanumeric",
      }),
    ),
    namespace: Schema.optionalKey(Schema.String),
    uid: Schema.optionalKey(Schema.String),
    generation: Schema.optionalKey(Schema.Int),
    resourceVersion: Schema.optionalKey(Schema.String),
    creationTimestamp: Schema.optionalKey(Schema.String),
    deletionTimestamp: Schema.optionalKey(Schema.String),
    labels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
    annotations: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  }),
  [Schema.Record(Schema.String, Schema.Unknown)],
)
export type WorkspaceMetadata = typeof WorkspaceMetadata.Type

/** Cross-field rules that need the Workspace name: every `<workspace>-agent-<pool>` must fit in 63 characters. */
const derivedNamesFit = Schema.makeFilter(
  (ws: { readonly metadata: { readonly name: string }; readonly spec: WorkspaceSpec }) => {
    const issues: Array<Schema.FilterIssue> = []
    ws.spec.workflows.agentPools.forEach((pool, index) => {
      const name = agentName(ws.metadata.name, pool.name)
      if (name.length > maxLabelLength) {
        issues.push({
          path: ["spec", "workflows", "agentPools", index, "name"],
          issue:
            `"${name}" (<workspace>-agent-<pool>) is ${name.length} characters, over 63: shorten the pool name ` +
            `to at most ${Math.max(0, maxPoolNameLength(ws.metadata.name))} characters or the Workspace name`,
        })
      }
    })
    return issues
  },
)

export const Workspace = Schema.Struct({
  apiVersion: Schema.Literal(apiVersion),
  kind: Schema.Literal(kind),
  metadata: WorkspaceMetadata,
  spec: WorkspaceSpec,
  status: Schema.optionalKey(WorkspaceStatus),
})
  .check(
    derivedNamesFit,
    Schema.makeFilter((ws: { readonly spec: WorkspaceSpec }) => workflowsIssues(ws.spec.workflows)),
  )
  .annotate({
    description: "A Prefect 3 workspace: server, database and worker pools, run and repaired by Cartographer.",
  })
export type Workspace = typeof Workspace.Type
export type WorkspaceEncoded = typeof Workspace.Encoded
