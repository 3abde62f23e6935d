/**
 * Rules a Workspace must satisfy that neither the Schema nor the CRD can state, because they relate two values the
 * user wrote: a resource request above its limit. The API server would accept the Workspace and then reject the
 * Deployment built from it (422), half-way through a plan; checking here turns that into `Degraded/InvalidSpec`
 * before anything is written, like any other invalid spec.
 */
import { quantityValue, type Resources, type ValidationIssue, type Workspace } from "@cartographer/schema"

const resourceIssues = (path: string, resources: Resources | undefined): ReadonlyArray<ValidationIssue> => {
  const requests = resources?.requests ?? {}
  const limits = resources?.limits ?? {}
  const issues: Array<ValidationIssue> = []
  for (const [name, request] of Object.entries(requests)) {
    const limit = limits[name]
    if (limit === undefined) continue
    const requested = quantityValue(request)
    const allowed = quantityValue(limit)
    if (requested !== undefined && allowed !== undefined && requested > allowed) {
      issues.push({
        path: `${path}.requests.${name}`,
        message: `${request} is more than limits.${name} (${limit}): a request may not exceed its limit`,
      })
    }
  }
  return issues
}

/** Every semantic problem of a decoded Workspace, with kubectl-style paths; empty when it can be planned. */
export const specIssues = (workspace: Workspace): ReadonlyArray<ValidationIssue> => {
  const { workflows } = workspace.spec
  return [
    ...resourceIssues("spec.workflows.server.resources", workflows.server.resources),
    ...resourceIssues("spec.workflows.database.resources", workflows.database.resources),
    ...resourceIssues("spec.workflows.redis.resources", workflows.redis?.resources),
    ...workflows.agentPools.flatMap((pool, index) =>
      resourceIssues(`spec.workflows.agentPools[${index}].resources`, pool.resources),
    ),
  ]
}
