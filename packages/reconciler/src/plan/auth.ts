/**
 * Prefect's basic auth (`spec.workflows.server.basicAuth`): the server checks one auth string, every client sends it.
 * It always travels as a `secretKeyRef` (the Workspace's Secret, or the user's), never as a literal in a spec:
 *
 * - the server gets `PREFECT_SERVER_API_AUTH_STRING`;
 * - workers (and a kubernetes pool's init container) get `PREFECT_API_AUTH_STRING`;
 * - a kubernetes worker copies its settings into each flow-run Job, the auth string in plain text unless
 *   prefect-kubernetes is told which Secret holds it (`..._WORKER_API_AUTH_STRING_SECRET_NAME`/`_KEY`): then the Job's
 *   entry becomes a `secretKeyRef` to that Secret in the Job's namespace.
 *
 * Probes need nothing: Prefect leaves GET `/api/health` and `/api/ready` open.
 */
import { defaultAuthStringKey } from "@cartographer/schema"
import type { PlanContext } from "./context.js"
import type { EnvVar, KeyRef } from "./kube.js"
import { secretName } from "./names.js"

/** The user of generated credentials. */
export const generatedAuthUser = "admin"

/** Keys of generated credentials in the Workspace's Secret; `authString` (`user:password`) is what Prefect reads. */
export const authSecretKeys = {
  username: "api-auth-username",
  password: "api-auth-password",
  authString: defaultAuthStringKey,
} as const

export const authEnabled = (ctx: PlanContext): boolean => ctx.workflows.server.basicAuth.enabled

/** Whether Cartographer makes the credentials (basic auth on, no Secret of the user's named). */
export const generatesAuth = (ctx: PlanContext): boolean =>
  authEnabled(ctx) && ctx.workflows.server.basicAuth.secretRef === undefined

/** Where the auth string is read from, when basic auth is on. */
export const authStringRef = (ctx: PlanContext): KeyRef | undefined => {
  if (!authEnabled(ctx)) return undefined
  const given = ctx.workflows.server.basicAuth.secretRef
  return given === undefined ? { name: secretName(ctx), key: authSecretKeys.authString } : given
}

const fromSecret = (name: string, ref: KeyRef): EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } },
})

/** The server's setting (no alias in Prefect 3.9). */
export const serverAuthEnv = (ctx: PlanContext): ReadonlyArray<EnvVar> => {
  const ref = authStringRef(ctx)
  return ref === undefined ? [] : [fromSecret("PREFECT_SERVER_API_AUTH_STRING", ref)]
}

/** A client's setting: workers and anything else that calls the API. */
export const clientAuthEnv = (ctx: PlanContext): ReadonlyArray<EnvVar> => {
  const ref = authStringRef(ctx)
  return ref === undefined ? [] : [fromSecret("PREFECT_API_AUTH_STRING", ref)]
}

/**
 * A kubernetes worker's settings that make its flow-run Jobs read the auth string from the same Secret (by name, in
 * the Job's namespace) instead of carrying it in their manifest.
 */
export const jobAuthEnv = (ctx: PlanContext): ReadonlyArray<EnvVar> => {
  const ref = authStringRef(ctx)
  return ref === undefined
    ? []
    : [
        { name: "PREFECT_INTEGRATIONS_KUBERNETES_WORKER_API_AUTH_STRING_SECRET_NAME", value: ref.name },
        { name: "PREFECT_INTEGRATIONS_KUBERNETES_WORKER_API_AUTH_STRING_SECRET_KEY", value: ref.key },
      ]
}
