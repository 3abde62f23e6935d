/**
 * The Prefect server: Deployment + Service `<ws>-orion-server` (port 4200, `http-orion`), reachable through
 * `kubectl port-forward svc/<ws>-orion-server 4200:4200` with a working UI.
 *
 * What it fixes over the original Cartographer and prefect-operator: `--host 0.0.0.0` (the default 127.0.0.1 is
 * unreachable through a Service), the Prefect command in `args` (the image's entrypoint stays), Prefect 3 setting
 * names, `PREFECT_UI_API_URL` set (unset, the UI calls `http://0.0.0.0:4200/api`), readiness on `/api/ready` (503 while
 * the database is unreachable), replicas from `controllerReplicas`, and a hardened pod.
 */

import { metadata, type PlanContext } from "./context.js"
import { type MergedEnv, mergeEnv } from "./env.js"
import type { Deployment, EnvVar, Probe, Service } from "./kube.js"
import { labels, selectorLabels } from "./labels.js"
import { databaseEnvAliases, databaseUrlEnv, migrationHashAnnotation, type ServerRevision } from "./migration.js"
import { envFromOf, withMounts, withVolumes } from "./mounts.js"
import { serverName } from "./names.js"
import { podComponent } from "./placement.js"
import {
  containerSecurity,
  podTemplate,
  prefectHome,
  prefectPod,
  prefectScratch,
  pullPolicy,
  uiBuildDir,
  uiBuildVolume,
} from "./podSecurity.js"
import { redisEnv } from "./redis.js"
import { defaultResources, resourcesOr } from "./resources.js"
import { planComponentService } from "./service.js"

export const serverPort = 4200
export const serverPortName = "http-orion"

/** Prefect's alternative spellings of the settings the server container gets. */
const serverEnvAliases = [...databaseEnvAliases, "PREFECT_SERVER_UI_API_URL", "PREFECT_SERVER_UI_STATIC_DIRECTORY"]

/** The server container's environment: ours, then the user's (minus collisions, see env.ts). */
export const serverEnv = (ctx: PlanContext, revision: ServerRevision): MergedEnv => {
  const ours: Array<EnvVar> = [
    databaseUrlEnv(revision),
    // Migrations run once, in the migration Job, before a new revision rolls out.
    { name: "PREFECT_SERVER_DATABASE_MIGRATE_ON_START", value: "false" },
    { name: "PREFECT_UI_API_URL", value: ctx.workflows.server.uiApiUrl },
    // The UI copies its build here at start; the root filesystem is read-only.
    { name: "PREFECT_UI_STATIC_DIRECTORY", value: uiBuildDir },
    ...prefectScratch.env,
    ...redisEnv(ctx),
  ]
  return mergeEnv(ours, ctx.workflows.server.env, "spec.workflows.server.env", serverEnvAliases)
}

const httpProbe = (path: string, failureThreshold: number): Probe => ({
  httpGet: { path, port: serverPortName },
  periodSeconds: 10,
  timeoutSeconds: 5,
  failureThreshold,
})

export interface ServerDeploymentInput {
  readonly revision: ServerRevision
  readonly replicas: number
  /** The migration the revision was rolled out after (absent while waiting for the first one). */
  readonly migrationHash: string | undefined
  readonly env: ReadonlyArray<EnvVar>
}

export const planServerDeployment = (ctx: PlanContext, input: ServerDeploymentInput): Deployment => {
  const component = podComponent(ctx, "server")
  const { server } = ctx.workflows
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(ctx, serverName(ctx), labels(ctx, "server"), {
      ...(input.migrationHash === undefined ? {} : { annotations: { [migrationHashAnnotation]: input.migrationHash } }),
    }),
    spec: {
      replicas: input.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(ctx, "server") },
      strategy: { type: "RollingUpdate" },
      template: podTemplate(ctx, component, {
        ...prefectPod(ctx, component),
        containers: [
          {
            name: "orion-server",
            image: input.revision.image,
            imagePullPolicy: pullPolicy(ctx),
            // Arguments only: the image's entrypoint (tini, EXTRA_PIP_PACKAGES) stays in place.
            args: [
              "prefect",
              "server",
              "start",
              "--host",
              "0.0.0.0",
              "--port",
              String(serverPort),
              "--log-level",
              ctx.workflows.server.logLevel,
            ],
            workingDir: prefectHome,
            env: input.env,
            ...envFromOf(server),
            ports: [{ name: serverPortName, containerPort: serverPort, protocol: "TCP" }],
            resources: resourcesOr(server.resources, defaultResources.server),
            volumeMounts: withMounts(
              [...prefectScratch.mounts, { name: uiBuildVolume, mountPath: uiBuildDir }],
              server,
            ),
            securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
            // Up to 5 minutes to start (first start builds the UI, waits for the database), then liveness.
            startupProbe: httpProbe("/api/health", 30),
            livenessProbe: httpProbe("/api/health", 3),
            readinessProbe: httpProbe("/api/ready", 3),
          },
        ],
        volumes: withVolumes([...prefectScratch.volumes, { name: uiBuildVolume, emptyDir: {} }], server),
      }),
    },
  }
}

export const planServerService = (ctx: PlanContext): Service =>
  planComponentService(ctx, serverName(ctx), "server", { name: serverPortName, port: serverPort })
