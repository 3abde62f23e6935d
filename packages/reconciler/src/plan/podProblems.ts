/**
 * What the status says about pods that do not run: each problem Kubernetes reported, with the path of the Workspace
 * field where that component's pods are described, so that the user knows where to look (its placement, its
 * ServiceAccount, its `envFrom` and volumes, its image). These are mistakes the API server cannot catch when the
 * Workspace is applied: a name that does not exist, a node selector no node matches.
 */
import type { PlanContext } from "./context.js"
import type { PodProblem } from "./Observed.js"

/** The Workspace path that describes the component's pods. */
export const componentPath = (ctx: PlanContext, problem: Pick<PodProblem, "component" | "pool">): string => {
  switch (problem.component) {
    case "agent": {
      const index = ctx.workflows.agentPools.findIndex((p) => p.name === problem.pool)
      return index < 0 ? `pool ${problem.pool ?? "?"}` : `spec.workflows.agentPools[${index}] (pool ${problem.pool})`
    }
    case "services":
      return "spec.workflows.server (its background services)"
    case "server":
    case "database":
    case "redis":
    case "migration":
      return `spec.workflows.${problem.component}`
    case "restore":
      return "spec.workflows.database.restoreFrom"
    default:
      return problem.component
  }
}

const hints: Readonly<Record<string, string>> = {
  FailedCreate: "Kubernetes refused to create them (a ServiceAccount or PriorityClass that does not exist, a quota)",
  Unschedulable: "no node fits them (nodeSelector, tolerations, affinity, topologySpreadConstraints, resources)",
  FailedMount: "a volume cannot be mounted (a Secret, ConfigMap or claim of `volumes` that does not exist)",
  CreateContainerConfigError: "a container cannot be configured (a Secret or ConfigMap of `envFrom` or `env`)",
}

/** One line per problem: where, what Kubernetes said, and what that usually means. */
export const describePodProblems = (ctx: PlanContext, problems: ReadonlyArray<PodProblem>): ReadonlyArray<string> =>
  problems.map((p) => {
    const hint = hints[p.reason]
    return `${componentPath(ctx, p)}: ${p.reason}${hint === undefined ? "" : ` — ${hint}`}: ${p.message}`
  })
