/**
 * The external database's Secret (`spec.workflows.database.external.secretRef`): the user's, never ours. The API
 * server cannot check that it exists or holds the key, and a pod that reads a missing one never starts: kubelet
 * retries it in `CreateContainerConfigError` for ever, and a migration Job would sit "running" with nothing said.
 * So the plan looks at it first: while it is missing (or lacks the key) no new migration is started, and the
 * Workspace says which Secret and key to fix. The engine watches such Secrets, so the fix is picked up at once.
 */
import type { PlanContext } from "./context.js"
import type { Observed, SecretObservation } from "./Observed.js"

export const secretRefPath = "spec.workflows.database.external.secretRef"

/** The external database's Secret as observed; `undefined` without an external database or when not looked at. */
const seenOf = (ctx: PlanContext, observed: Observed): SecretObservation | undefined => {
  const name = ctx.workflows.database.external?.secretRef.name
  return name === undefined
    ? undefined
    : observed.referencedSecrets?.find((s) => s.namespace === ctx.namespace && s.name === name)
}

/** Why the external database's Secret cannot be used, or `undefined` (also when it was not looked at). */
export const databaseSecretProblem = (ctx: PlanContext, observed: Observed): string | undefined => {
  const external = ctx.workflows.database.external
  const seen = seenOf(ctx, observed)
  if (external === undefined || seen === undefined) return undefined
  const { name, key } = external.secretRef
  if (seen.keys === undefined)
    return (
      `${secretRefPath}.name: Secret ${name} does not exist in namespace ${ctx.namespace}; create it with key ${key} ` +
      "holding the database URL (postgresql+asyncpg://user:password@host:5432/database)"
    )
  if (!seen.keys.includes(key))
    return (
      `${secretRefPath}.key: Secret ${name} has no key ${key} with a value ` +
      `(its keys: ${seen.keys.length === 0 ? "none" : seen.keys.join(", ")})`
    )
  return undefined
}

/** When the external database's Secret last changed, if it was looked at and the time is known. */
export const databaseSecretChangedAt = (ctx: PlanContext, observed: Observed): string | undefined => {
  return seenOf(ctx, observed)?.changedAt
}
