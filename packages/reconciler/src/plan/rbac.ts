/**
 * Identity and RBAC of a pool. A `kubernetes` pool runs as its own ServiceAccount `<ws>-agent-<pool>` (the
 * namespace's `default` account is what makes prefect-operator's and prefect-helm's workers fail with "jobs.batch is
 * forbidden"), or as the existing one the pool names; any pool whose ServiceAccount carries cloud identity
 * annotations (IRSA, GKE Workload Identity) gets one created with them. A `kubernetes` pool's account gets a Role +
 * RoleBinding in the namespace the flow-run Jobs go to, granting exactly what Prefect's kubernetes worker uses (docs/architecture.md,
 * "Prefect facts"): create, watch and delete Jobs; read pods, their logs and events (the worker reports why a pod did
 * not start).
 *
 * A Role in another namespace cannot have the Workspace as owner: cross-namespace owner references are invalid and the
 * garbage collector treats them as absent (it would delete the Role). So such a Role and RoleBinding are not owned;
 * they carry the Workspace's labels plus `mlops.aigency.com/workspace-namespace`, and are pruned by label when their
 * pool goes. When the Workspace is deleted the engine removes them by label (no finalizer: ADR 0005).
 */
import type { AgentPool, EnvVar as SpecEnvVar } from "@cartographer/schema"
import { metadata, type PlanContext } from "./context.js"
import type { Labels, PolicyRule, Role, RoleBinding, ServiceAccount } from "./kube.js"
import { labelKeys, labels } from "./labels.js"
import { agentName, rbacName } from "./names.js"
import { canonical } from "./sorted.js"

/** Where a pool's flow-run Jobs are created: `jobNamespace`, or the Workspace's namespace. */
export const jobNamespace = (ctx: PlanContext, pool: AgentPool): string => pool.jobNamespace ?? ctx.namespace

export const needsRbac = (pool: AgentPool): boolean => pool.type === "kubernetes"

/** Whether Cartographer creates the pool's ServiceAccount: never when the pool names an existing one. */
export const ownsServiceAccount = (pool: AgentPool): boolean =>
  pool.serviceAccount?.name === undefined && (needsRbac(pool) || pool.serviceAccount?.annotations !== undefined)

/** The ServiceAccount the pool's workers run as; `undefined`: the namespace's default (no token is mounted). */
export const poolServiceAccountName = (ctx: PlanContext, pool: AgentPool): string | undefined =>
  pool.serviceAccount?.name ?? (ownsServiceAccount(pool) ? agentName(ctx, pool.name) : undefined)

export const storeEnvAsSecretSetting = "PREFECT_INTEGRATIONS_KUBERNETES_WORKER_STORE_ENV_AS_SECRET"

/** pydantic's spellings of true; a value from a Secret or ConfigMap cannot be read here, so it counts as true. */
const isTrue = (env: SpecEnvVar): boolean =>
  env.valueFrom !== undefined || ["1", "true", "t", "yes", "y", "on"].includes((env.value ?? "").trim().toLowerCase())

/** The worker stores flow-run environments in Secrets when told to; only then does it need Secret access. */
const storesEnvAsSecret = (pool: AgentPool): boolean => {
  const setting = (pool.env ?? []).filter((env) => env.name === storeEnvAsSecretSetting).at(-1)
  return setting !== undefined && isTrue(setting)
}

export const workerRules = (pool: AgentPool): ReadonlyArray<PolicyRule> => [
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch", "create", "delete"] },
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
  { apiGroups: [""], resources: ["events"], verbs: ["get", "list", "watch"] },
  ...(storesEnvAsSecret(pool)
    ? [{ apiGroups: [""], resources: ["secrets"], verbs: ["create", "patch", "delete"] }]
    : []),
]

const rbacLabels = (ctx: PlanContext, pool: AgentPool): Labels => ({
  ...labels(ctx, "agent", pool.name),
  [labelKeys.workspaceNamespace]: ctx.namespace,
})

export const planServiceAccount = (ctx: PlanContext, pool: AgentPool): ServiceAccount => {
  const annotations = canonical(pool.serviceAccount?.annotations ?? {})
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: metadata(ctx, agentName(ctx, pool.name), rbacLabels(ctx, pool), {
      ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
    }),
    // Only a kubernetes worker's pod, which opts in, gets a token; anything else run under this account does not.
    automountServiceAccountToken: false,
  }
}

export const planRole = (ctx: PlanContext, pool: AgentPool): Role => {
  const namespace = jobNamespace(ctx, pool)
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: metadata(ctx, rbacName(ctx, pool.name, namespace), rbacLabels(ctx, pool), {
      namespace,
      owned: namespace === ctx.namespace,
    }),
    rules: workerRules(pool),
  }
}

export const planRoleBinding = (ctx: PlanContext, pool: AgentPool): RoleBinding => {
  const namespace = jobNamespace(ctx, pool)
  const name = rbacName(ctx, pool.name, namespace)
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: metadata(ctx, name, rbacLabels(ctx, pool), { namespace, owned: namespace === ctx.namespace }),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [
      {
        kind: "ServiceAccount",
        name: poolServiceAccountName(ctx, pool) ?? agentName(ctx, pool.name),
        namespace: ctx.namespace,
      },
    ],
  }
}
