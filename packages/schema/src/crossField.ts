/**
 * The Workspace's cross-field rules beyond names (a TLS Secret without a host, two routes under different paths, …):
 * each concept states its own (`Exposure.ts`, `BasicAuth.ts`, `Redis.ts`), gathered here with their paths from the
 * document's root, and below, their CEL twins, which `crd.ts` gives the API server so that both refuse the same
 * objects.
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

/** An `x-kubernetes-validations` entry. */
interface CelRule {
  readonly rule: string
  readonly message: string
  readonly fieldPath: string
}

/**
 * The CEL twins of the cross-field rules (`crossField.ts`), by the node they sit on. The API server applies defaults
 * before it validates, so `path` always has a value here, as it does for the decoder.
 */
export const crossFieldRules: ReadonlyArray<readonly [Array<string>, Array<CelRule>]> = [
  [
    ["workflows", "server", "ingress"],
    [
      {
        rule: "!has(self.tlsSecretName) || has(self.host)",
        message: "needs ingress.host: a TLS certificate is served for a host name",
        fieldPath: ".tlsSecretName",
      },
    ],
  ],
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
  [
    ["workflows", "server", "basicAuth"],
    [
      {
        rule: "!has(self.secretRef) || self.enabled",
        message: "is only used with enabled: true (set it, or remove secretRef)",
        fieldPath: ".secretRef",
      },
    ],
  ],
  [
    ["workflows", "redis"],
    ["image", "resources"].map((field) => ({
      rule: `!has(self.external) || !has(self.${field})`,
      message: "is for the in-cluster Redis: remove it, or remove redis.external",
      fieldPath: `.${field}`,
    })),
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
