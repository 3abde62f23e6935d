/**
 * `metav1.MicroTime`: RFC 3339 in UTC with exactly six fractional digits. Lease and events.k8s.io times must use it
 * (a JavaScript `Date` serialises milliseconds, which the API server rejects for MicroTime fields on some paths
 * and which loses ordering precision).
 */
import { Clock, Effect } from "effect"

/** Formats epoch nanoseconds as a MicroTime string. */
export const formatMicroTime = (epochNanos: bigint): string => {
  const micros = epochNanos / 1000n
  const seconds = micros / 1_000_000n
  const fraction = micros % 1_000_000n
  const iso = new Date(Number(seconds) * 1000).toISOString() // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}.${fraction.toString().padStart(6, "0")}Z`
}

/** The current time from Effect's `Clock` (so `TestClock` drives it), as a MicroTime string. */
export const nowMicroTime: Effect.Effect<string> = Effect.map(Clock.currentTimeNanos, formatMicroTime)
