/**
 * The Workspace's cross-field rules beyond names (a TLS Secret without a host, two routes under different paths, …):
 * each concept states its own (`Exposure.ts`, `BasicAuth.ts`, `Redis.ts`), gathered here with their paths from the
 * document's root. `crd.ts` gives the API server the same rules in CEL, so that both refuse the same objects.
 */
import type { Schema } from "effect"
import { basicAuthIssues } from "./BasicAuth.js"
import { exposureIssues } from "./Exposure.js"
import { redisIssues } from "./Redis.js"
import type { Workflows } from "./Workspace.js"

const under = (prefix: ReadonlyArray<PropertyKey>, issues: ReadonlyArray<Schema.FilterIssue>) =>
  issues.map((issue) =>
    typeof issue === "object" && "path" in issue ? { ...issue, path: [...prefix, ...issue.path] } : issue,
  )

export const workflowsIssues = (workflows: Workflows): Array<Schema.FilterIssue> => {
  const root = ["spec", "workflows"]
  return [
    ...under([...root, "server"], exposureIssues(workflows.server)),
    ...under([...root, "server", "basicAuth"], basicAuthIssues(workflows.server.basicAuth)),
    ...(workflows.redis === undefined ? [] : under([...root, "redis"], redisIssues(workflows.redis))),
  ]
}
