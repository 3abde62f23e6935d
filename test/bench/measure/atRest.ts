// What a converged operator costs at rest, from outside: its CPU time sampled from /proc while it runs, and the
// reconciles it logs. The resync passes are told apart by the pauses between them; each pass's cost is the CPU spent
// from its first reconcile to its last (less what the same span costs idle), and the idle rate is the CPU spent in
// the pauses, per minute.
import type { OperatorEvent, ShippedOperator } from "../support/shippedOperator.js"

export interface CpuSample {
  readonly t: number
  readonly cpuSeconds: number
}

/** Samples the operator's CPU time every `everyMs` until stopped. */
export const cpuSampler = (operator: ShippedOperator, everyMs = 250) => {
  const samples: Array<CpuSample> = []
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      samples.push({ t: Date.now(), cpuSeconds: await operator.cpuSeconds() })
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return {
    samples,
    stop: async () => {
      stopped = true
      await loop
      samples.push({ t: Date.now(), cpuSeconds: await operator.cpuSeconds() })
    },
  }
}

/** The CPU time at `t`, interpolated between the samples around it. */
export const cpuAt = (samples: ReadonlyArray<CpuSample>, t: number): number => {
  const after = samples.findIndex((s) => s.t >= t)
  if (after <= 0) return (after === 0 ? samples[0] : samples.at(-1))?.cpuSeconds ?? 0
  const a = samples[after - 1] as CpuSample
  const b = samples[after] as CpuSample
  return a.cpuSeconds + ((b.cpuSeconds - a.cpuSeconds) * (t - a.t)) / Math.max(1, b.t - a.t)
}

export interface ResyncPass {
  readonly reconciles: number
  /** From the end of its first reconcile to the end of its last. */
  readonly seconds: number
  /** The operator's CPU over the pass (with half a second either side), less what that span costs idle. */
  readonly cpuSeconds: number
}

export interface AtRest {
  readonly resyncPeriodSeconds: number
  readonly passes: ReadonlyArray<ResyncPass>
  /** Seconds between the passes (and before the first), when the operator only waits. */
  readonly idleSeconds: number
  /** CPU seconds per minute over those pauses. */
  readonly idleCpuPerMinute: number
}

const margin = 500

/** Splits the reconciles after `from` into passes (a pause longer than `pauseMs` separates two) and costs them. */
export const atRest = (
  events: ReadonlyArray<OperatorEvent>,
  samples: ReadonlyArray<CpuSample>,
  options: {
    readonly from: number
    readonly to: number
    readonly resyncPeriodSeconds: number
    readonly pauseMs: number
  },
): AtRest => {
  const times = events.flatMap((e) =>
    e.event === "reconciled" && e.t >= options.from && e.t <= options.to ? [e.t] : [],
  )
  const passes: Array<{ first: number; last: number; reconciles: number }> = []
  for (const t of times) {
    const current = passes.at(-1)
    if (current !== undefined && t - current.last <= options.pauseMs) {
      current.last = t
      current.reconciles++
    } else passes.push({ first: t, last: t, reconciles: 1 })
  }
  // The pauses: from `from` to the first pass, between passes, and after the last one.
  let idleMs = 0
  let idleCpu = 0
  let cursor = options.from
  for (const pass of [...passes, { first: options.to + margin, last: options.to }]) {
    const end = pass.first - margin
    if (end > cursor) {
      idleMs += end - cursor
      idleCpu += cpuAt(samples, end) - cpuAt(samples, cursor)
    }
    cursor = pass.last + margin
  }
  const idleRate = idleMs > 0 ? idleCpu / (idleMs / 1000) : 0
  return {
    resyncPeriodSeconds: options.resyncPeriodSeconds,
    passes: passes.map((p) => {
      const span = p.last - p.first + 2 * margin
      const cpu = cpuAt(samples, p.last + margin) - cpuAt(samples, p.first - margin)
      return {
        reconciles: p.reconciles,
        seconds: (p.last - p.first) / 1000,
        cpuSeconds: Math.max(0, cpu - idleRate * (span / 1000)),
      }
    }),
    idleSeconds: idleMs / 1000,
    idleCpuPerMinute: idleRate * 60,
  }
}
