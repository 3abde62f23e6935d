/**
 * The Prefect server: Deployment + Service `<ws>-orion-server` (port 4200, `http-orion`), reachable through
 * `kubectl port-forward svc/<ws>-orion-server 4200:4200` with a working UI, or through its Ingress or HTTPRoute.
 *
 * What it fixes over the original Cartographer and prefect-operator: `--host 0.0.0.0` (the default 127.0.0.1 is
 * unreachable through a Service), the Prefect command in `args` (the image's entrypoint stays), Prefect 3 setting
 * names, `PREFECT_UI_API_URL` set (unset, the UI calls `http://0.0.0.0:4200/api`), readiness on `/api/ready` (503 while
 * the database is unreachable), liveness that notices a database lost for good, replicas from `controllerReplicas`
 * (API only, `--no-services`, when there are several: `services.ts` runs the background services once), and a
 * hardened pod.
 */

import { serverAuthEnv } from "./auth.js"
import type { PlanContext } from "./context.js"
import { type MergedEnv, mergeEnv } from "./env.js"
import { uiApiUrl } from "./exposure.js"
import type { Container, Deployment, EnvVar, Probe, Service } from "./kube.js"
import { metricsEnv, metricsEnvAliases, metricsServicePorts } from "./metrics.js"
import { databaseEnvAliases, databaseUrlEnv, migrationHashAnnotation, type ServerRevision } from "./migration.js"
import { blockRegistrationEnv, blockRegistrationEnvAliases } from "./migrationScript.js"
import { serverName } from "./names.js"
import { apiPath, serverPath } from "./paths.js"
import { prefectScratch, uiBuildDir, uiBuildVolume } from "./podSecurity.js"
import { redisEnabled, redisEnv, redisEnvAliases } from "./redis.js"
import { defaultResources, resourcesOr } from "./resources.js"
import { retentionEnv, retentionEnvAliases } from "./retention.js"
import { serverPort, serverPortName } from "./serverPorts.js"
import { planServerProcessDeployment } from "./serverProcess.js"
import { planComponentService } from "./service.js"

/** Prefect's alternative spellings of the settings the server container gets. */
const serverEnvAliases = [
  ...databaseEnvAliases,
  "PREFECT_SERVER_UI_API_URL",
  "PREFECT_SERVER_UI_STATIC_DIRECTORY",
  "PREFECT_SERVER_UI_SERVE_BASE",
  ...redisEnvAliases,
  ...retentionEnvAliases,
  ...metricsEnvAliases,
  ...blockRegistrationEnvAliases,
]

/** Under a path prefix, Prefect must serve the UI and the API there itself (the route must not strip it). */
const pathEnv = (ctx: PlanContext): ReadonlyArray<EnvVar> => {
  const path = serverPath(ctx)
  return path === ""
    ? []
    : [
        { name: "PREFECT_SERVER_API_BASE_PATH", value: apiPath(ctx) },
        { name: "PREFECT_UI_SERVE_BASE", value: path },
      ]
}

/**
 * The environment of the server's container, and of the background services' (the same Prefect configuration): ours,
 * then the user's (minus collisions, see env.ts).
 */
export const serverEnv = (ctx: PlanContext, revision: ServerRevision): MergedEnv => {
  const ours: Array<EnvVar> = [
    databaseUrlEnv(revision),
    // Migrations run once, in the migration Job, before a new revision rolls out.
    { name: "PREFECT_SERVER_DATABASE_MIGRATE_ON_START", value: "false" },
    ...blockRegistrationEnv,
    { name: "PREFECT_UI_API_URL", value: uiApiUrl(ctx) },
    // The UI copies its build here at start; the root filesystem is read-only.
    { name: "PREFECT_UI_STATIC_DIRECTORY", value: uiBuildDir },
    ...prefectScratch.env,
    ...redisEnv(ctx),
    ...pathEnv(ctx),
    ...serverAuthEnv(ctx),
    ...retentionEnv(ctx),
    ...metricsEnv(ctx),
  ]
  return mergeEnv(ours, ctx.workflows.server.env, "spec.workflows.server.env", serverEnvAliases)
}

const httpProbe = (path: string, failureThreshold: number): Probe => ({
  httpGet: { path, port: serverPortName },
  periodSeconds: 10,
  timeoutSeconds: 5,
  failureThreshold,
})

/**
 * `/api/health` never touches the database; `/api/ready` answers 503 while it is unreachable (both stay open under
 * basic auth). Up to 5 minutes to start (the first start builds the UI), then readiness takes a replica out of the
 * Service within 30 seconds of losing its database, and liveness restarts it after `databaseLossRestartSeconds`.
 */
export const serverProbes = (
  ctx: PlanContext,
): Pick<Container, "startupProbe" | "livenessProbe" | "readinessProbe"> => {
  const api = apiPath(ctx)
  const liveness = httpProbe(`${api}/ready`, Math.ceil(ctx.workflows.server.databaseLossRestartSeconds / 10))
  return {
    startupProbe: httpProbe(`${api}/health`, 30),
    livenessProbe: liveness,
    readinessProbe: httpProbe(`${api}/ready`, 3),
  }
}

export interface ServerDeploymentInput {
  readonly revision: ServerRevision
  readonly replicas: number
  /** The migration the revision was rolled out after (absent while waiting for the first one). */
  readonly migrationHash: string | undefined
  readonly env: ReadonlyArray<EnvVar>
}

export const planServerDeployment = (ctx: PlanContext, input: ServerDeploymentInput): Deployment => {
  const { server } = ctx.workflows
  return planServerProcessDeployment(ctx, {
    component: "server",
    name: serverName(ctx),
    ...(input.migrationHash === undefined ? {} : { annotations: { [migrationHashAnnotation]: input.migrationHash } }),
    replicas: input.replicas,
    strategy: { type: "RollingUpdate" },
    revision: input.revision,
    env: input.env,
    container: {
      name: "orion-server",
      args: [
        "prefect",
        "server",
        "start",
        "--host",
        "0.0.0.0",
        "--port",
        String(serverPort),
        "--log-level",
        server.logLevel,
        // Several replicas serve the API only; `<ws>-orion-services` runs the background services once.
        ...(redisEnabled(ctx) ? ["--no-services"] : []),
      ],
      ports: [{ name: serverPortName, containerPort: serverPort, protocol: "TCP" }],
      resources: resourcesOr(server.resources, defaultResources.server),
      probes: serverProbes(ctx),
    },
    volumes: [{ volume: { name: uiBuildVolume, emptyDir: {} }, mount: { name: uiBuildVolume, mountPath: uiBuildDir } }],
  })
}

export const planServerService = (ctx: PlanContext): Service =>
  planComponentService(
    ctx,
    serverName(ctx),
    "server",
    { name: serverPortName, port: serverPort },
    { extraPorts: metricsServicePorts(ctx) },
  )
