/**
 * Secrets the spec names but Cartographer does not make: an external database's URL, the user's basic auth string, an
 * external Redis's password, and the auth string in each other namespace a kubernetes pool sends flow-run Jobs to
 * (they read it there by name). The API server cannot check that they exist (they may be created in any order), and a
 * pod that reads a missing one never starts (`CreateContainerConfigError`), so the engine looks at them (their keys,
 * never their values) and the Workspace says which one is missing, at its path, until it appears.
 */
import { authStringRef } from "./auth.js"
import type { PlanContext } from "./context.js"
import { secretRefPath as databaseSecretPath } from "./databaseSecret.js"
import type { SecretObservation } from "./Observed.js"
import { jobNamespace, needsRbac } from "./rbac.js"
import { redisEnabled } from "./redis.js"

export interface SecretReference {
  /** Where the spec names it, e.g. `spec.workflows.server.basicAuth.secretRef`. */
  readonly path: string
  readonly namespace: string
  readonly name: string
  readonly key: string
}

export const referencedSecrets = (ctx: PlanContext): ReadonlyArray<SecretReference> => {
  const { database, server, redis, agentPools } = ctx.workflows
  const here = ctx.namespace
  const references: Array<SecretReference> = []
  if (database.external !== undefined)
    references.push({
      path: databaseSecretPath,
      namespace: here,
      ...database.external.secretRef,
    })
  if (server.basicAuth.enabled && server.basicAuth.secretRef !== undefined)
    references.push({
      path: "spec.workflows.server.basicAuth.secretRef",
      namespace: here,
      ...server.basicAuth.secretRef,
    })
  const password = redis?.external?.passwordSecretRef
  if (redisEnabled(ctx) && password !== undefined)
    references.push({ path: "spec.workflows.redis.external.passwordSecretRef", namespace: here, ...password })
  const auth = authStringRef(ctx)
  if (auth !== undefined)
    agentPools.forEach((pool, index) => {
      const namespace = jobNamespace(ctx, pool)
      if (needsRbac(pool) && namespace !== here)
        references.push({ path: `spec.workflows.agentPools[${index}].jobNamespace`, namespace, ...auth })
    })
  return references
}

/**
 * What is wrong with each reference, as observed; empty when all hold or nothing was observed. The external
 * database's Secret is left to `databaseSecretProblem`, which also holds its migration back.
 */
export const missingSecrets = (
  ctx: PlanContext,
  observed: ReadonlyArray<SecretObservation> | undefined,
): ReadonlyArray<string> => {
  if (observed === undefined) return []
  return referencedSecrets(ctx).flatMap((reference) => {
    if (reference.path === databaseSecretPath) return []
    const seen = observed.find((s) => s.namespace === reference.namespace && s.name === reference.name)
    if (seen === undefined) return []
    if (seen.keys === undefined)
      return [`${reference.path}: Secret ${reference.name} does not exist in ${reference.namespace}`]
    return seen.keys.includes(reference.key)
      ? []
      : [`${reference.path}: Secret ${reference.name} has no key ${reference.key}`]
  })
}
