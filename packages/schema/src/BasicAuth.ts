/**
 * Prefect's basic auth, the only authentication its open-source server has: the server checks every API request
 * against one auth string (`PREFECT_SERVER_API_AUTH_STRING`), and every client (workers, flow runs, the CLI, the UI's
 * login page) sends it (`PREFECT_API_AUTH_STRING`). `/api/health` and `/api/ready` stay open, so probes keep working.
 */
import { Schema } from "effect"
import { fieldOnlyWhen } from "./cel.js"
import { secretKeyRef, withDefault } from "./fields.js"

/** The key of the auth string in a user's Secret, unless told otherwise (and in the Workspace's own Secret). */
export const defaultAuthStringKey = "auth-string"

export const BasicAuth = Schema.Struct({
  enabled: withDefault(
    Schema.Boolean,
    false,
    "Require Prefect's basic auth on the server's API. Without `secretRef`, Cartographer creates the credentials " +
      "once (user `admin`, a random password) in Secret `<workspace>-environment-secrets` (keys `api-auth-username`, " +
      "`api-auth-password` and `auth-string`) and never rotates them.",
  ),
  secretRef: Schema.optionalKey(
    secretKeyRef(defaultAuthStringKey, "Key holding the auth string, `user:password`.").annotate({
      description:
        "Use this Secret's auth string instead of generated credentials. A kubernetes pool whose `jobNamespace` is " +
        "another namespace needs a Secret of the same name and key there too (its flow-run Jobs read it).",
    }),
  ),
}).annotate({
  description:
    "Basic auth on the server's API (Prefect's `PREFECT_SERVER_API_AUTH_STRING`). Workers, the flow-run Jobs of " +
    "kubernetes pools and the UI's login then use the credentials; `/api/health` and `/api/ready` stay open.",
})
export type BasicAuth = typeof BasicAuth.Type

/** `secretRef` is read only with `enabled` (its CEL twin sits on `basicAuth`, see `crossField.ts`). */
export const secretRefOnlyEnabled = fieldOnlyWhen<BasicAuth>({
  field: "secretRef",
  holds: (auth) => auth.enabled,
  cel: "self.enabled",
  reason: "is only used with enabled: true (set it, or remove secretRef)",
  fieldInMessage: false,
})

/** Cross-field rules, at paths relative to `spec.workflows.server.basicAuth`. */
export const basicAuthIssues = (auth: BasicAuth): Array<Schema.FilterIssue> => {
  const issue = secretRefOnlyEnabled.issue(auth)
  return issue === undefined ? [] : [issue]
}
