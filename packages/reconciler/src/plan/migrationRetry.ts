/**
 * Retrying a failed migration, without a human and without a hot loop.
 *
 * A migration Job already retries its pod (`migrationBackoffLimit` times, 10 s, 20 s, 40 s apart): a Job that fails
 * has failed four times in a row over a minute or more, so something outside the Job is wrong (the database refuses
 * the credentials, is unreachable, holds a schema a newer Prefect wrote). Once that is fixed the Workspace must
 * recover on its own, as a Deployment's pods do. So a failed attempt is followed by another one:
 *
 * - after a delay that doubles with each failed attempt (1, 2, 4, 8 minutes, then every 15 minutes), counted from
 *   when the attempt failed; the plan asks the engine to look again then (`Plan.requeueAfterSeconds`);
 * - at once when the external database's Secret changed after the failed attempt was created: the user fixed it,
 *   and the engine watches that Secret;
 * - at once when the failed Job is deleted (by hand, as before).
 *
 * Each attempt is a Job of its own, so that its pods (and their logs) never mix with another attempt's: attempt 1 is
 * `<ws>-orion-migrate-<hash>`, attempt n ≥ 2 is named by the hash of (hash, n) and annotated with n. All carry the
 * migration hash label. The failed attempt is kept while the next one runs (its pods hold the logs the status
 * quotes); older attempts are pruned. The attempt count lives on the Jobs, never in the status: it is observed, not
 * remembered.
 */
import { contentHash } from "./hash.js"
import type { MigrationJobObservation } from "./Observed.js"

/** Annotation on migration Jobs of attempt 2 and later: the attempt's number. */
export const migrationAttemptAnnotation = "mlops.aigency.com/migration-attempt"

export const migrationRetry = {
  /** Delay after the first failed attempt. */
  firstDelaySeconds: 60,
  /** Longest delay between two attempts. */
  maxDelaySeconds: 15 * 60,
} as const

/** Seconds to wait after attempt `attempt` failed before the next one. */
export const retryDelaySeconds = (attempt: number): number =>
  Math.min(migrationRetry.maxDelaySeconds, migrationRetry.firstDelaySeconds * 2 ** Math.max(0, attempt - 1))

/** What names attempt `attempt` of migration `hash`: the hash itself for the first, a hash of both afterwards. */
export const attemptNameHash = (hash: string, attempt: number): string =>
  attempt <= 1 ? hash : contentHash({ hash, attempt })

const secondsOf = (rfc3339: string | undefined): number | undefined => {
  if (rfc3339 === undefined) return undefined
  const millis = Date.parse(rfc3339)
  return Number.isNaN(millis) ? undefined : Math.floor(millis / 1000)
}

/** RFC 3339 at second precision, as `metav1.Time` serialises. */
const formatSeconds = (seconds: number): string => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/u, "Z")

export interface RetryDecision {
  /** Whether the next attempt starts now. */
  readonly due: boolean
  /** When the next attempt starts by the clock (RFC 3339), if the failed attempt's times are known. */
  readonly retryAt: string | undefined
  /** Seconds from `now` until `retryAt`, while it is in the future. */
  readonly waitSeconds: number | undefined
}

/**
 * Whether a failed attempt is retried now. Its failure time (else its creation) starts the delay; a failed Job
 * whose times are unknown is never retried by the clock (only a Secret change or its deletion retries it), so a
 * malformed observation can never make a loop.
 */
export const decideRetry = (
  failed: MigrationJobObservation,
  now: string,
  secretChangedAt: string | undefined,
): RetryDecision => {
  const nowSeconds = secondsOf(now)
  const started = secondsOf(failed.failedAt) ?? secondsOf(failed.createdAt)
  const at = started === undefined ? undefined : started + retryDelaySeconds(failed.attempt ?? 1)
  const created = secondsOf(failed.createdAt)
  const changed = secondsOf(secretChangedAt)
  // Same second counts: the attempt may have read the Secret before the change; one extra attempt at most.
  const secretFixed = changed !== undefined && created !== undefined && changed >= created
  const byClock = at !== undefined && nowSeconds !== undefined && nowSeconds >= at
  return {
    due: secretFixed || byClock,
    retryAt: at === undefined ? undefined : formatSeconds(at),
    waitSeconds: at === undefined || nowSeconds === undefined || nowSeconds >= at ? undefined : at - nowSeconds,
  }
}
