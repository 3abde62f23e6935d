/**
 * `<ws>-environment-secrets`: the credentials Cartographer makes for a Workspace: the in-cluster database's password
 * and connection URL, the basic auth credentials (when it generates them), and the in-cluster Redis's password.
 *
 * Created once and never rotated: Postgres keeps the password it was initialised with, clients hold the auth string,
 * so when a key exists the plan re-applies its observed value byte for byte, and a key once written stays (even when
 * nothing uses it any more: switching a feature off and on again must not change its credentials). For the same
 * reason it is retained with the database volume (no owner reference unless `deleteVolumeWithWorkspace`). Keys
 * missing from an observed Secret (one written by the original Cartographer has only `orionDatabasePassword` and
 * `orionDatabaseConnectionUrl`) are derived from the observed password, never from a new one.
 *
 * User `postgres` and database `orion` are the original Cartographer's, so that its URL and ours agree. With the
 * official image, `POSTGRES_USER` is the cluster's superuser whatever its name.
 */

import { authSecretKeys, generatedAuthUser } from "./auth.js"
import { metadata, type PlanContext } from "./context.js"
import type { KeyRef, Secret } from "./kube.js"
import { labels } from "./labels.js"
import { databaseName, secretName } from "./names.js"
import type { Observed } from "./Observed.js"

export const databaseUser = "postgres"
export const databaseDb = "orion"
export const databasePort = 5432

/** The original Cartographer's keys, kept for anything that still reads them. */
const legacySecretKeys = {
  legacyPassword: "orionDatabasePassword",
  legacyConnectionUrl: "orionDatabaseConnectionUrl",
} as const

export const secretKeys = {
  username: "username",
  password: "password",
  database: "database",
  /** Same key as an external database Secret's default (`connection-url`). */
  connectionUrl: "connection-url",
  ...legacySecretKeys,
  apiAuthUsername: authSecretKeys.username,
  apiAuthPassword: authSecretKeys.password,
  authString: authSecretKeys.authString,
  redisPassword: "redis-password",
} as const

/** Where the server and the migration read the database URL: our Secret, or the user's for an external database. */
export const databaseUrlRef = (ctx: PlanContext): KeyRef => {
  const external = ctx.workflows.database.external
  return external === undefined
    ? { name: secretName(ctx), key: secretKeys.connectionUrl }
    : { name: external.secretRef.name, key: external.secretRef.key }
}

/** The asyncpg URL Prefect expects; the password is percent-encoded (it is composed into a URL). */
export const connectionUrl = (ctx: PlanContext, password: string): string =>
  `postgresql+asyncpg://${databaseUser}:${encodeURIComponent(password)}@${databaseName(ctx)}:${databasePort}/${databaseDb}`

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u

export const encodeBase64 = (text: string): string => {
  let binary = ""
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** `undefined` for anything that is not base64 of UTF-8 text (never from the API server, but the plan is total). */
export const decodeBase64 = (encoded: string): string | undefined => {
  if (!base64Pattern.test(encoded)) return undefined
  const binary = atob(encoded)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes)
}

/** A key's value in the observed Secret, decoded; `undefined` when absent (or not base64 of text). */
const observedValue = (observed: Observed, key: string): string | undefined => {
  const value = observed.secret?.data?.[key]
  return value === undefined ? undefined : decodeBase64(value)
}

/** The password in force: the observed Secret's (current key, then the original's), else the generated one. */
export const databasePassword = (observed: Observed): string =>
  observedValue(observed, secretKeys.password) ??
  observedValue(observed, secretKeys.legacyPassword) ??
  observed.generatedPassword

/** What the Secret must hold for this plan; keys it already holds are kept whether or not they are listed here. */
export interface SecretNeeds {
  readonly database: boolean
  readonly apiAuth: boolean
  readonly redis: boolean
}

const neededValues = (ctx: PlanContext, observed: Observed, needs: SecretNeeds): Record<string, string> => {
  const values: Record<string, string> = {}
  if (needs.database) {
    const password = databasePassword(observed)
    const url = connectionUrl(ctx, password)
    values[secretKeys.username] = databaseUser
    values[secretKeys.password] = password
    values[secretKeys.database] = databaseDb
    values[secretKeys.connectionUrl] = url
    values[secretKeys.legacyPassword] = password
    values[secretKeys.legacyConnectionUrl] = url
  }
  if (needs.apiAuth) {
    const user = observedValue(observed, secretKeys.apiAuthUsername) ?? generatedAuthUser
    const password = observedValue(observed, secretKeys.apiAuthPassword) ?? observed.generatedSecrets.apiAuthPassword
    values[secretKeys.apiAuthUsername] = user
    values[secretKeys.apiAuthPassword] = password
    values[secretKeys.authString] = `${user}:${password}`
  }
  if (needs.redis) values[secretKeys.redisPassword] = observed.generatedSecrets.redisPassword
  return values
}

export const planSecret = (ctx: PlanContext, observed: Observed, needs: SecretNeeds): Secret => {
  const needed = neededValues(ctx, observed, needs)
  const kept = observed.secret?.data ?? {}
  const data: Record<string, string> = {}
  // In the fixed order of `secretKeys`: the applied object (and its intent hash) must not depend on the observation's.
  for (const key of Object.values(secretKeys)) {
    const value = kept[key] ?? (needed[key] === undefined ? undefined : encodeBase64(needed[key]))
    if (value !== undefined) data[key] = value
  }
  return {
    apiVersion: "v1",
    kind: "Secret",
    // Retained exactly like the database volume: a Workspace re-created with the same name reuses the retained data,
    // which only opens with this password.
    metadata: metadata(ctx, secretName(ctx), labels(ctx, "secrets"), {
      owned: ctx.workflows.database.deleteVolumeWithWorkspace,
    }),
    type: "Opaque",
    data,
  }
}
