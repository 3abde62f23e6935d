// How long the operator's watches were down between two connections, from the audit log: the server logs a watch
// once, when it ends, with the time it was received and the time it ended. For each watched collection, the gap is
// the time from one connection's end to the next one's arrival: a change made then reaches the operator only when
// the next connection resumes from the last resourceVersion.
import type { AuditEvent } from "@cartographer/test/harness"
import { auditTime } from "../support/auditTail.js"
import { quantile } from "./ceiling.js"

export interface WatchGaps {
  /** Connections that ended while the operator ran on (reconnects), over every watched kind. */
  readonly reconnects: number
  readonly gapMs: { readonly p50: number; readonly p99: number; readonly max: number }
  /** Which collection had the longest gap. */
  readonly worst: string | undefined
}

/** `watches`: the operator's watch requests that ended (the process's last connections included). */
export const watchGaps = (watches: ReadonlyArray<AuditEvent>): WatchGaps => {
  const byCollection = new Map<string, Array<AuditEvent>>()
  for (const w of watches) {
    const key = `${w.objectRef?.resource ?? "?"} in ${w.objectRef?.namespace ?? "*"}`
    const list = byCollection.get(key) ?? []
    list.push(w)
    byCollection.set(key, list)
  }
  const gaps: Array<{ ms: number; where: string }> = []
  for (const [where, list] of byCollection) {
    list.sort((a, b) => auditTime(a.requestReceivedTimestamp) - auditTime(b.requestReceivedTimestamp))
    for (let i = 1; i < list.length; i++) {
      const ended = auditTime((list[i - 1] as AuditEvent).stageTimestamp)
      const next = auditTime((list[i] as AuditEvent).requestReceivedTimestamp)
      // A connection that began before the previous one ended belongs to another stream (a relist's restart).
      if (next >= ended) gaps.push({ ms: next - ended, where })
    }
  }
  const sorted = gaps.map((g) => g.ms).sort((a, b) => a - b)
  const worst = gaps.reduce<(typeof gaps)[number] | undefined>(
    (w, g) => (w === undefined || g.ms > w.ms ? g : w),
    undefined,
  )
  return {
    reconnects: gaps.length,
    gapMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN },
    worst: worst?.where,
  }
}
