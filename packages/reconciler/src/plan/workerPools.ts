/**
 * Worker pools: one Deployment `<ws>-agent-<pool>` per pool, running `prefect worker start` (Prefect 3 workers replace
 * the original Cartographer's `prefect agent`, removed in 3.0) against the in-cluster API, with the worker's health
 * server as probe.
 */
import type { AgentPool } from "@cartographer/schema"
import { Defaults } from "@cartographer/schema"
import { clientAuthEnv, jobAuthEnv } from "./auth.js"
import { metadata, type PlanContext } from "./context.js"
import { type MergedEnv, mergeEnv } from "./env.js"
import { extraPackages } from "./extraPackages.js"
import type { Container, Deployment, EnvVar, Probe } from "./kube.js"
import { labels, selectorLabels } from "./labels.js"
import { agentName, serverUrl } from "./names.js"
import { containerSecurity, podTemplate, prefectHome, prefectPod, prefectScratch, pullPolicy } from "./podSecurity.js"
import { jobNamespace, needsRbac } from "./rbac.js"
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

/** Where the init container of a `kubernetes` pool writes the work pool's base job template for the worker. */
export const baseJobTemplatePath = `${prefectHome}/base-job-template.json`

/**
 * What a `kubernetes` pool's flow-run Jobs get from Cartographer: its job namespace (the default template's is
 * `default`, where the pool's Role grants nothing), the pool's image (else the Workspace's; left to the worker, it
 * would name an image from its own Python version) and the same hardening as every other pod of the Workspace, so
 * that namespaces enforcing the restricted Pod Security profile admit them: a non-root user, no privilege
 * escalation, no capabilities, the runtime's seccomp profile, and a read-only root with writable `HOME`, `/tmp` and
 * `PREFECT_HOME`. The container's `env` becomes a list of our variables; the worker puts each run's own variables
 * (its API URL, the deployment's `env`) before them.
 */
export const jobTemplateOverlay = (ctx: PlanContext, pool: AgentPool) => ({
  variables: { namespace: jobNamespace(ctx, pool), image: pool.image ?? ctx.workflows.image },
  pod: { securityContext: prefectPod(ctx).securityContext, volumes: prefectScratch.volumes },
  container: {
    securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
    workingDir: prefectHome,
    volumeMounts: prefectScratch.mounts,
    env: prefectScratch.env,
  },
})

/**
 * The template is the image's own prefect-kubernetes default (so it always matches the worker's version) with
 * `jobTemplateOverlay` applied, given to `prefect worker start --base-job-template`, which uses it only when it
 * creates the work pool. A pool that already exists (its job namespace changed, or it was created before) gets just
 * its namespace aligned through the Prefect API, so whatever else its users changed in its template stays. The init
 * container gives the server a minute to answer (it is not up yet on a first deployment, when the worker creates the
 * pool anyway), then lets the worker start regardless.
 */
const baseJobTemplateScript = [
  "import asyncio, json, os, sys, time",
  "from prefect_kubernetes.worker import KubernetesWorker",
  'overlay = json.loads(os.environ["CARTOGRAPHER_JOB_TEMPLATE_OVERLAY"])',
  'namespace = overlay["variables"]["namespace"]',
  'pool_name = os.environ["CARTOGRAPHER_WORK_POOL"]',
  "template = KubernetesWorker.get_default_base_job_template()",
  'for name, value in overlay["variables"].items():',
  '    template["variables"]["properties"][name]["default"] = value',
  'pod = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]',
  'pod.update(overlay["pod"])',
  'pod["containers"][0].update(overlay["container"])',
  'json.dump(template, open(os.environ["CARTOGRAPHER_BASE_JOB_TEMPLATE"], "w"))',
  "async def align():",
  "    from prefect.client.orchestration import get_client",
  "    from prefect.client.schemas.actions import WorkPoolUpdate",
  "    from prefect.exceptions import ObjectNotFound",
  "    async with get_client() as client:",
  "        try:",
  "            pool = await client.read_work_pool(pool_name)",
  "        except ObjectNotFound:",
  '            return "not created yet: the worker creates it with the template"',
  "        current = pool.base_job_template",
  '        field = current.get("variables", {}).get("properties", {}).get("namespace")',
  "        if field is None:",
  '            return "its template has no namespace variable: left as it is"',
  '        if field.get("default") == namespace:',
  '            return "sends flow-run Jobs to " + namespace',
  '        field["default"] = namespace',
  "        await client.update_work_pool(pool_name, WorkPoolUpdate(base_job_template=current))",
  '        return "now sends flow-run Jobs to " + namespace',
  "for attempt in range(12):",
  "    try:",
  '        print("work pool " + pool_name + ": " + asyncio.run(align()))',
  "        break",
  "    except Exception as error:",
  '        print("the Prefect server does not answer yet: " + str(error), file=sys.stderr)',
  "        time.sleep(5)",
  "else:",
  '    print("work pool " + pool_name + ": its job namespace is not aligned (no server); the worker starts anyway", file=sys.stderr)',
].join("\n")

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

/** `env`: the worker's, so that it reaches the Prefect server as the worker does (URL, credentials). */
const baseJobTemplateContainer = (ctx: PlanContext, pool: AgentPool, env: ReadonlyArray<EnvVar>): Container => ({
  name: "base-job-template",
  image: workerImage(ctx, pool),
  imagePullPolicy: pullPolicy(ctx),
  args: ["python", "-c", baseJobTemplateScript],
  workingDir: prefectHome,
  env: [
    ...env,
    { name: "CARTOGRAPHER_JOB_TEMPLATE_OVERLAY", value: JSON.stringify(jobTemplateOverlay(ctx, pool)) },
    { name: "CARTOGRAPHER_WORK_POOL", value: pool.name },
    { name: "CARTOGRAPHER_BASE_JOB_TEMPLATE", value: baseJobTemplatePath },
  ],
  resources: resourcesOr(pool.resources, defaultResources.worker),
  volumeMounts: prefectScratch.mounts,
  securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
})

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

export const planPoolDeployment = (ctx: PlanContext, pool: AgentPool, env: ReadonlyArray<EnvVar>): Deployment => {
  const podLabels = labels(ctx, "agent", pool.name)
  const kubernetes = needsRbac(pool)
  const agent: Container = {
    name: "agent",
    image: workerImage(ctx, pool),
    imagePullPolicy: pullPolicy(ctx),
    // Arguments only: the image's entrypoint (tini) stays in place.
    args: workerArgs(pool),
    workingDir: prefectHome,
    env,
    ports: [{ name: healthPortName, containerPort: healthPort, protocol: "TCP" }],
    resources: resourcesOr(pool.resources, defaultResources.worker),
    volumeMounts: prefectScratch.mounts,
    securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
    // `/health` answers 503 when the worker has not polled recently: a stuck worker is restarted.
    startupProbe: healthProbe(10, 30),
    livenessProbe: healthProbe(30, 3),
    readinessProbe: healthProbe(10, 3),
  }
  const extra = extraPackages(agent)
  const initContainers = [
    ...(extra === undefined ? [] : [extra.initContainer]),
    ...(kubernetes ? [baseJobTemplateContainer(ctx, pool, extra?.env ?? env)] : []),
  ]
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(ctx, agentName(ctx, pool.name), podLabels),
    spec: {
      // An autoscaled pool's replicas belong to its autoscaler: not applying the field leaves it to that owner.
      ...(pool.autoscaled === true ? {} : { replicas: pool.replicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(ctx, "agent", pool.name) },
      strategy: { type: "RollingUpdate" },
      template: podTemplate(podLabels, {
        // Only kubernetes workers talk to the Kubernetes API, with their own account.
        ...(kubernetes ? { serviceAccountName: agentName(ctx, pool.name) } : {}),
        ...prefectPod(ctx, { automountServiceAccountToken: kubernetes }),
        ...(initContainers.length === 0 ? {} : { initContainers }),
        containers: [
          extra === undefined
            ? agent
            : { ...agent, env: extra.env, volumeMounts: [...prefectScratch.mounts, extra.mount] },
        ],
        volumes: extra === undefined ? prefectScratch.volumes : [...prefectScratch.volumes, extra.volume],
      }),
    },
  }
}
