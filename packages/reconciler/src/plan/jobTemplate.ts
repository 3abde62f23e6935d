/**
 * The flow-run Jobs of a `kubernetes` pool: what the Workspace puts into its Prefect work pool's base job template,
 * and the two containers that put it there (`jobTemplateScripts.ts`; docs/adr/0009-kubernetes-pool-job-template.md).
 *
 * The template is Prefect's own default of the worker's prefect-kubernetes with an overlay:
 * - the defaults of the template's variables, so that a deployment's `job_variables` can still override each for its
 *   runs: the job namespace (the default template's is `default`, where the pool's Role grants nothing), the image
 *   (left to the worker it would name an image from its own Python version), the pull policy, the ServiceAccount,
 *   the TTL after finished, cpu and memory, and the plain `env` (a deployment's `env` adds to it);
 * - variables of Cartographer's own for what the default template cannot say (`node_selector`, `tolerations`,
 *   `image_pull_secrets`, `env_from`), used by the Job manifest;
 * - what is written into the manifest: the hardening every pod of the Workspace has, so that namespaces enforcing the
 *   restricted Pod Security profile admit the Jobs (a non-root user, no privilege escalation, no capabilities, the
 *   runtime's seccomp profile, a read-only root with writable `HOME`, `/tmp` and `PREFECT_HOME`), the variables taken
 *   from Secrets and ConfigMaps (`valueFrom`), and resources other than cpu and memory (`nvidia.com/gpu`).
 */
import type { AgentPool } from "@cartographer/schema"
import type { PlanContext } from "./context.js"
import { type MergedEnv, mergeEnv } from "./env.js"
import { renderTemplate, syncTemplate } from "./jobTemplateScripts.js"
import type { Container, EnvVar } from "./kube.js"
import {
  containerSecurity,
  podSecurity,
  prefectHome,
  prefectScratch,
  prefectUid,
  pullPolicy,
  pullSecrets,
} from "./podSecurity.js"
import { jobNamespace } from "./rbac.js"
import { defaultResources, resourcesOr } from "./resources.js"
import { canonical } from "./sorted.js"

/** Where the init container writes the template: the worker's `--base-job-template` and the sync container read it. */
export const baseJobTemplatePath = `${prefectHome}/base-job-template.json`

/** Variables a deployment's `env` cannot take over in the flow-run container (the worker sets them). */
const workerSetVariables = ["PREFECT_API_URL", "PREFECT__FLOW_RUN_ID"]

/**
 * The flow-run container's variables: Cartographer's (`HOME`, `PREFECT_HOME`), then the pool's `jobTemplate.env`
 * minus what collides with them or with what the worker sets (reported like any ignored variable).
 */
export const jobTemplateEnv = (pool: AgentPool, index: number): MergedEnv =>
  mergeEnv(
    prefectScratch.env,
    pool.jobTemplate?.env,
    `spec.workflows.agentPools[${index}].jobTemplate.env`,
    workerSetVariables,
  )

const variable = (title: string, description: string, type: "object" | "array", value: unknown) => ({
  title,
  description,
  type,
  ...(type === "object" ? { additionalProperties: { type: "string" } } : { items: { type: "object" } }),
  default: value,
})

const computeResources = ["cpu", "memory"]

/** What the init container applies to Prefect's default template (see the module's doc). */
export const jobTemplateOverlay = (ctx: PlanContext, pool: AgentPool, env: ReadonlyArray<EnvVar>) => {
  const job = pool.jobTemplate
  const { requests = {}, limits = {} } = job?.resources ?? {}
  // Cartographer's variables stay in the manifest (the worker passes its own PREFECT_HOME, the same, anyway); the
  // pool's plain ones become the `env` variable's default, those from Secrets and ConfigMaps go into the manifest.
  const ours = new Set(prefectScratch.env.map((e) => e.name))
  const pools = env.filter((e) => !ours.has(e.name))
  const plain = Object.fromEntries(pools.filter((e) => e.valueFrom === undefined).map((e) => [e.name, e.value ?? ""]))
  const fromSources = pools.filter((e) => e.valueFrom !== undefined)
  const defined = (entries: Record<string, string | number | undefined>) =>
    Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined))
  const extra = (list: Readonly<Record<string, string>>) =>
    canonical(Object.fromEntries(Object.entries(list).filter(([name]) => !computeResources.includes(name))))
  return {
    defaults: {
      namespace: jobNamespace(ctx, pool),
      image: job?.image ?? pool.image ?? ctx.workflows.image,
      image_pull_policy: pullPolicy(ctx),
      ...defined({
        service_account_name: job?.serviceAccountName,
        finished_job_ttl: job?.ttlSecondsAfterFinished,
        cpu_request: requests.cpu,
        cpu_limit: limits.cpu,
        memory_request: requests.memory,
        memory_limit: limits.memory,
      }),
      ...(Object.keys(plain).length === 0 ? {} : { env: plain }),
    },
    variables: {
      node_selector: variable(
        "Node Selector",
        "Node labels the flow-run pod must match.",
        "object",
        canonical(job?.nodeSelector ?? {}),
      ),
      tolerations: variable(
        "Tolerations",
        "Taints the flow-run pod tolerates.",
        "array",
        canonical(job?.tolerations ?? []),
      ),
      image_pull_secrets: variable(
        "Image Pull Secrets",
        "Secrets of the job namespace to pull the image with, as [{name: ...}].",
        "array",
        pullSecrets(job?.imagePullSecrets ?? ctx.workflows.imagePullSecrets),
      ),
      env_from: variable(
        "Environment From",
        "Secrets and ConfigMaps whose keys become environment variables, as in a Kubernetes container.",
        "array",
        canonical(job?.envFrom ?? []),
      ),
    },
    pod: {
      securityContext: podSecurity(prefectUid),
      volumes: prefectScratch.volumes,
      nodeSelector: "{{ node_selector }}",
      tolerations: "{{ tolerations }}",
      imagePullSecrets: "{{ image_pull_secrets }}",
    },
    container: {
      securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
      workingDir: prefectHome,
      volumeMounts: prefectScratch.mounts,
      env: [...prefectScratch.env, ...fromSources],
      envFrom: "{{ env_from }}",
    },
    resources: {
      ...(Object.keys(extra(requests)).length === 0 ? {} : { requests: extra(requests) }),
      ...(Object.keys(extra(limits)).length === 0 ? {} : { limits: extra(limits) }),
    },
  }
}

/** What both containers need: the worker's environment (to reach the server as it does) and where the template is. */
const templateEnv = (pool: AgentPool, workerEnv: ReadonlyArray<EnvVar>): ReadonlyArray<EnvVar> => [
  ...workerEnv,
  { name: "CARTOGRAPHER_WORK_POOL", value: pool.name },
  { name: "CARTOGRAPHER_BASE_JOB_TEMPLATE", value: baseJobTemplatePath },
]

/** Renders the template for the worker (which creates a missing work pool with it) and the sync container. */
export const renderTemplateContainer = (
  ctx: PlanContext,
  pool: AgentPool,
  image: string,
  workerEnv: ReadonlyArray<EnvVar>,
  jobEnv: ReadonlyArray<EnvVar>,
): Container => ({
  name: "base-job-template",
  image,
  imagePullPolicy: pullPolicy(ctx),
  args: ["python", "-c", renderTemplate],
  workingDir: prefectHome,
  env: [
    ...templateEnv(pool, workerEnv),
    { name: "CARTOGRAPHER_JOB_TEMPLATE_OVERLAY", value: JSON.stringify(jobTemplateOverlay(ctx, pool, jobEnv)) },
  ],
  resources: resourcesOr(pool.resources, defaultResources.worker),
  volumeMounts: prefectScratch.mounts,
  securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
})

/** Keeps the work pool's template the Workspace's (see `jobTemplateScripts.ts`). */
export const syncTemplateContainer = (
  ctx: PlanContext,
  pool: AgentPool,
  image: string,
  workerEnv: ReadonlyArray<EnvVar>,
): Container => ({
  name: "job-template-sync",
  image,
  imagePullPolicy: pullPolicy(ctx),
  args: ["python", "-c", syncTemplate],
  workingDir: prefectHome,
  env: templateEnv(pool, workerEnv),
  resources: defaultResources.jobTemplateSync,
  volumeMounts: prefectScratch.mounts,
  securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
})
