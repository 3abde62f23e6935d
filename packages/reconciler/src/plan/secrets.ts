/**
 * `<ws>-environment-secrets`: the in-cluster database's credentials and connection URL.
 *
 * Created once and never rotated: Postgres keeps the password it was initialised with, so when the Secret exists the
 * plan re-applies the observed values byte for byte. For the same reason it is retained with the database volume
 * (no owner reference unless `deleteVolumeWithWorkspace`). Keys missing from an observed Secret (one written by the
 * original Cartographer has only `orionDatabasePassword` and `orionDatabaseConnectionUrl`) are derived from the
 * observed password, never from a new one.
 *
 * User `postgres` and database `orion` are the original Cartographer's, so that its URL and ours agree. With the
 * official image, `POSTGRES_USER` is the cluster's superuser whatever its name.
 */

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

/** The password in force: the observed Secret's (current key, then the original's), else the generated one. */
export const databasePassword = (observed: Observed): string => {
  const data = observed.secret?.data
  const fromSecret = (key: string): string | undefined => {
    const value = data?.[key]
    return value === undefined ? undefined : decodeBase64(value)
  }
  return fromSecret(secretKeys.password) ?? fromSecret(secretKeys.legacyPassword) ?? observed.generatedPassword
}

export const planSecret = (ctx: PlanContext, observed: Observed): Secret => {
  const password = databasePassword(observed)
  const url = connectionUrl(ctx, password)
  const derived: Record<string, string> = {
    [secretKeys.username]: databaseUser,
    [secretKeys.password]: password,
    [secretKeys.database]: databaseDb,
    [secretKeys.connectionUrl]: url,
    [secretKeys.legacyPassword]: password,
    [secretKeys.legacyConnectionUrl]: url,
  }
  const kept = observed.secret?.data ?? {}
  const data: Record<string, string> = {}
  for (const [key, value] of Object.entries(derived)) data[key] = kept[key] ?? encodeBase64(value)
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
