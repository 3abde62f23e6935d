// A phase of writes as the API server saw it (from its audit log): how long each write took inside the server and
// how many were in flight on average. When a client keeps fewer requests in flight than its concurrency allows, the
// time goes to the client, not to the server.
import type { AuditEvent } from "@cartographer/test/harness"
import { auditTime } from "./auditTail.js"

export interface ServerView {
  readonly writes: number
  /** Time inside kube-apiserver per write (request received → response complete). */
  readonly serverLatencyMs: { readonly p50: number; readonly p99: number }
  /** Σ server time / window: the average number of writes the server was working on. */
  readonly averageInFlight: number
}

export const serverView = (writes: ReadonlyArray<AuditEvent>): ServerView => {
  const spans = writes.map((e) => [auditTime(e.requestReceivedTimestamp), auditTime(e.stageTimestamp)] as const)
  const latencies = spans.map(([start, end]) => end - start).sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
  const first = Math.min(...spans.map(([start]) => start))
  const last = Math.max(...spans.map(([, end]) => end))
  const busy = latencies.reduce((sum, l) => sum + l, 0)
  const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits
  return {
    writes: writes.length,
    serverLatencyMs: { p50: round(at(0.5)), p99: round(at(0.99)) },
    averageInFlight: round(busy / Math.max(1, last - first), 2),
  }
}
