/**
 * The Workspace's cross-field rules beyond names (a TLS Secret without a host, two routes under different paths, …):
 * each concept states its own (`Exposure.ts`, `BasicAuth.ts`, `Redis.ts`), gathered here with their paths from the
 * document's root, and below, their CEL twins, which `crd.ts` gives the API server so that both refuse the same
 * objects. They are not `celFilter`s (`cel.ts`) on their own structs because those structs have decoding defaults
 * (`basicAuth.enabled`, `ingress.path`), and the CEL twin of a filter on such a struct would not reach the CRD.
 */
import type { Schema } from "effect"
import { scheduleNeedsInClusterDatabase } from "./Backup.js"
import { basicAuthIssues, secretRefOnlyEnabled } from "./BasicAuth.js"
import type { CelRule } from "./cel.js"
import { exposureIssues, tlsSecretNameNeedsHost } from "./Exposure.js"
import { inClusterOnlyRules, redisIssues } from "./Redis.js"
import { restoreNeedsInClusterDatabase } from "./Restore.js"
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
    ...under(
      [...root, "database"],
      [scheduleNeedsInClusterDatabase, restoreNeedsInClusterDatabase].flatMap((r) => r.issue(workflows.database) ?? []),
    ),
  ]
}

/**
 * The CEL twins of the cross-field rules (`crossField.ts`), by the node they sit on. The API server applies defaults
 * before it validates, so `path` always has a value here, as it does for the decoder.
 */
export const crossFieldRules: ReadonlyArray<readonly [Array<string>, Array<CelRule>]> = [
  [["workflows", "server", "ingress"], [tlsSecretNameNeedsHost.rule]],
  [
    ["workflows", "server"],
    [
      {
        rule: "!has(self.ingress) || !has(self.httpRoute) || self.ingress.path == self.httpRoute.path",
        message: "httpRoute.path must equal ingress.path: the server serves its UI and API under one path",
        fieldPath: ".httpRoute.path",
      },
    ],
  ],
  [["workflows", "server", "basicAuth"], [secretRefOnlyEnabled.rule]],
  [["workflows", "redis"], inClusterOnlyRules.map((r) => r.rule)],
  [
    ["workflows", "database"],
    [scheduleNeedsInClusterDatabase.rule, restoreNeedsInClusterDatabase.rule],
  ],
  [
    ["workflows", "redis", "external"],
    [
      {
        rule: "self.db != self.docketDb",
        message: "must differ from external.db: Docket and Prefect's messaging must not share a database",
        fieldPath: ".docketDb",
      },
    ],
  ],
]
