/**
 * Worker pools: one Deployment `<ws>-agent-<pool>` per pool, running `prefect worker start` (Prefect 3 workers replace
 * the original Cartographer's `prefect agent`, removed in 3.0) against the in-cluster API, with the worker's health
 * server as probe. A `kubernetes` pool's pod also renders and keeps its work pool's flow-run Job template
 * (`jobTemplate.ts`).
 */
import type { AgentPool } from "@cartographer/schema"
import { Defaults } from "@cartographer/schema"
import { clientAuthEnv, jobAuthEnv } from "./auth.js"
import { metadata, type PlanContext } from "./context.js"
import { type MergedEnv, mergeEnv } from "./env.js"
import { extraPackages } from "./extraPackages.js"
import { baseJobTemplatePath, renderTemplateContainer, syncTemplateContainer } from "./jobTemplate.js"
import type { Container, Deployment, EnvVar, Probe } from "./kube.js"
import { labels, selectorLabels } from "./labels.js"
import { envFromOf, withMounts, withVolumes } from "./mounts.js"
import { agentName, serverUrl } from "./names.js"
import { podComponent } from "./placement.js"
import { containerSecurity, podTemplate, prefectHome, prefectPod, prefectScratch, pullPolicy } from "./podSecurity.js"
import { jobNamespace, needsRbac, poolServiceAccountName } from "./rbac.js"
import { defaultResources, resourcesOr } from "./resources.js"

export const healthPort = 8080
export const healthPortName = "http-health"

/** Official tags without a flavor: `3.9.1-python3.12`, `3.9-python3.12`, `3-python3.12`, `3-latest`. */
const plainOfficialTag = /^(?:docker\.io\/)?prefecthq\/prefect:(?:\d+(?:\.\d+){0,2}-python\d+\.\d+|\d+-latest)$/u

/**
 * The image of a pool: its own, else the Workspace's. A `kubernetes` worker needs prefect-kubernetes, which only the
 * official `-kubernetes` flavor has, so an official plain tag (the default one included) becomes its `-kubernetes`
 * variant; any other image is taken as given (a custom image is assumed to carry what it needs).
 */
export const workerImage = (ctx: PlanContext, pool: AgentPool): string => {
  if (pool.image !== undefined) return pool.image
  const image = ctx.workflows.image
  if (pool.type !== "kubernetes") return image
  if (image === Defaults.defaultPrefectImage) return Defaults.defaultKubernetesWorkerImage
  return plainOfficialTag.test(image) ? `${image}-kubernetes` : image
}

/**
 * The kubernetes worker identifies "its" cluster by the `kube-system` namespace's uid, which needs cluster-wide read
 * access; a fixed value per Workspace avoids that grant. It must only be the same for every worker that may cancel a
 * run of this pool, and must not contain ':' (it is a part of Prefect's `cluster:namespace:job` identifiers).
 */
export const clusterUid = (ctx: PlanContext): string => `cartographer.${ctx.namespace}.${ctx.name}`

export const workerArgs = (pool: AgentPool): ReadonlyArray<string> => [
  "prefect",
  "worker",
  "start",
  "--pool",
  pool.name,
  "--type",
  pool.type,
  "--with-healthcheck",
  ...(needsRbac(pool) ? ["--base-job-template", baseJobTemplatePath] : []),
  ...(pool.concurrencyLimit === undefined ? [] : ["--limit", String(pool.concurrencyLimit)]),
  ...[...new Set(pool.workQueues ?? [])].flatMap((queue) => ["--work-queue", queue]),
]

export const workerEnv = (ctx: PlanContext, pool: AgentPool, index: number): MergedEnv => {
  const ours: Array<EnvVar> = [
    // Required: without it the CLI would start an ephemeral server of its own.
    { name: "PREFECT_API_URL", value: serverUrl(ctx) },
    { name: "PREFECT_WORKER_WEBSERVER_HOST", value: "0.0.0.0" },
    { name: "PREFECT_WORKER_WEBSERVER_PORT", value: String(healthPort) },
    ...prefectScratch.env,
    ...clientAuthEnv(ctx),
  ]
  const aliases: Array<string> = []
  if (needsRbac(pool)) {
    // Empty means a cluster-wide watch, which the namespaced Role does not allow.
    ours.push({ name: "PREFECT_INTEGRATIONS_KUBERNETES_OBSERVER_NAMESPACES", value: jobNamespace(ctx, pool) })
    ours.push({ name: "PREFECT_KUBERNETES_CLUSTER_UID", value: clusterUid(ctx) })
    // Flow-run Jobs read the auth string from the Secret instead of carrying it in their manifest.
    ours.push(...jobAuthEnv(ctx))
    aliases.push("PREFECT_INTEGRATIONS_KUBERNETES_CLUSTER_UID")
  }
  return mergeEnv(ours, pool.env, `spec.workflows.agentPools[${index}].env`, aliases)
}

const healthProbe = (periodSeconds: number, failureThreshold: number): Probe => ({
  httpGet: { path: "/health", port: healthPortName },
  periodSeconds,
  timeoutSeconds: 5,
  failureThreshold,
})

export interface PoolEnv {
  /** The worker's. */
  readonly worker: ReadonlyArray<EnvVar>
  /** A `kubernetes` pool's flow-run container's (`jobTemplateEnv`). */
  readonly job: ReadonlyArray<EnvVar>
}

export const planPoolDeployment = (ctx: PlanContext, pool: AgentPool, env: PoolEnv): Deployment => {
  const component = podComponent(ctx, "agent", pool)
  const kubernetes = needsRbac(pool)
  const image = workerImage(ctx, pool)
  const serviceAccountName = poolServiceAccountName(ctx, pool)
  const envFrom = envFromOf(pool)
  const mounts = withMounts(prefectScratch.mounts, pool)
  const agent: Container = {
    name: "agent",
    image,
    imagePullPolicy: pullPolicy(ctx),
    // Arguments only: the image's entrypoint (tini) stays in place.
    args: workerArgs(pool),
    workingDir: prefectHome,
    env: env.worker,
    ...envFrom,
    ports: [{ name: healthPortName, containerPort: healthPort, protocol: "TCP" }],
    resources: resourcesOr(pool.resources, defaultResources.worker),
    volumeMounts: mounts,
    securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
    // `/health` answers 503 when the worker has not polled recently: a stuck worker is restarted.
    startupProbe: healthProbe(10, 30),
    livenessProbe: healthProbe(30, 3),
    readinessProbe: healthProbe(10, 3),
  }
  const extra = extraPackages(agent)
  // Every Prefect container of the pod runs the image's entrypoint, which would install EXTRA_PIP_PACKAGES onto the
  // read-only root: the template's containers get the environment without it, as the worker does.
  const workerEnv = extra?.env ?? env.worker
  const initContainers = [
    // An index or credentials for the install may come from the pool's Secrets and ConfigMaps too.
    ...(extra === undefined ? [] : [{ ...extra.initContainer, ...envFrom }]),
    ...(kubernetes ? [renderTemplateContainer(ctx, pool, image, workerEnv, env.job)] : []),
  ]
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(ctx, agentName(ctx, pool.name), labels(ctx, "agent", pool.name)),
    spec: {
      // An autoscaled pool's replicas belong to its autoscaler: not applying the field leaves it to that owner.
      ...(pool.autoscaled === true ? {} : { replicas: pool.replicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(ctx, "agent", pool.name) },
      strategy: { type: "RollingUpdate" },
      template: podTemplate(ctx, component, {
        ...(serviceAccountName === undefined ? {} : { serviceAccountName }),
        // Only kubernetes workers talk to the Kubernetes API; a cloud identity needs no token of this API.
        ...prefectPod(ctx, component, { automountServiceAccountToken: kubernetes }),
        ...(initContainers.length === 0 ? {} : { initContainers }),
        containers: [
          extra === undefined ? agent : { ...agent, env: extra.env, volumeMounts: [...mounts, extra.mount] },
          ...(kubernetes ? [syncTemplateContainer(ctx, pool, image, workerEnv)] : []),
        ],
        volumes: withVolumes(
          extra === undefined ? prefectScratch.volumes : [...prefectScratch.volumes, extra.volume],
          pool,
        ),
      }),
    },
  }
}
