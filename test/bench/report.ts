// The benchmark's result: one JSON document (`latest.json`) and its markdown table (`latest.md`).
import type { CeilingResult } from "./measure/ceiling.js"
import type { Repair } from "./measure/drift.js"
import type { OperatorResult } from "./measure/operator.js"
import type { PureThroughput } from "./measure/throughput.js"
import type { MachineFacts } from "./support/machine.js"

export interface BenchReport {
  readonly date: string
  readonly commit: string
  readonly machine: MachineFacts
  readonly parameters: {
    readonly workspaces: number
    readonly concurrency: number
    readonly resyncPeriodSeconds: number
    readonly driftDeletions: number
  }
  readonly ceiling: CeilingResult
  /** The same, measured again after the operator's measurements (the ratio uses the mean of both). */
  readonly ceilingAfter?: CeilingResult
  readonly operator: OperatorResult | { readonly skipped: string }
  readonly pure: PureThroughput
  readonly seconds: number
}

export const targets = {
  ratioToCeiling: 0.7,
  steadyStateWrites: 0,
  driftP99Ms: 1000,
  rssMiB: 120,
} as const

const n = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a"
const mark = (ok: boolean) => (ok ? "✅" : "❌")

/**
 * "Deployment 1,084 ms (2 runs of its Workspace: error 3 ms, ok 12 ms; 37 others; loop blocked ≤ 20 ms; 1 watch of
 * its kind ended)".
 */
const describeRepair = (r: Repair): string => {
  const runs = r.runs.map((run) => `${run.result} ${n(run.ms)} ms`).join(", ")
  const watches =
    r.watchesEnded === 0 ? "" : `; ${r.watchesEnded === 1 ? "1 watch" : `${r.watchesEnded} watches`} of its kind ended`
  return `${r.kind} ${n(r.ms)} ms (${r.runs.length === 1 ? "1 run" : `${r.runs.length} runs`} of its Workspace${runs === "" ? "" : `: ${runs}`}; ${n(r.others)} others; loop blocked ≤ ${n(r.loopDelayMaxMs)} ms${watches})`
}

export const renderMarkdown = (r: BenchReport): string => {
  const m = r.machine
  const rows: Array<[string, string, string]> = []
  const c = r.ceiling
  rows.push([
    `API server ceiling: bare client applies the planner's objects for ${n(c.workspaces)} Workspaces`,
    `${n(c.writesPerSecond)} objects/s (${n(c.writes)} writes in ${n(c.seconds, 1)} s; p50 ${n(c.latencyMs.p50, 1)} ms, p99 ${n(c.latencyMs.p99, 1)} ms; CPU s: API server ${c.cpu.apiServer}, etcd ${c.cpu.etcd}, client ${c.cpu.client})`,
    "",
  ])
  const after = r.ceilingAfter
  if (after !== undefined) {
    rows.push([
      "… measured again after the operator's runs",
      `${n(after.writesPerSecond)} objects/s (${n(after.seconds, 1)} s; CPU s: API server ${after.cpu.apiServer}, etcd ${after.cpu.etcd}, client ${after.cpu.client})`,
      "",
    ])
  }
  rows.push([
    "… as the API server saw it",
    `${n(c.server.serverLatencyMs.p50, 1)} ms p50, ${n(c.server.serverLatencyMs.p99, 1)} ms p99 inside the server; ${n(c.server.averageInFlight, 2)} writes in flight on average`,
    `≤ ${r.parameters.concurrency}`,
  ])
  if ("skipped" in r.operator) {
    rows.push(["Operator measurements", `not run: ${r.operator.skipped}`, ""])
  } else {
    const o = r.operator
    rows.push([
      `Operator converges ${n(o.converge.workspaces)} new Workspaces (children applied + status written)`,
      `${n(o.converge.seconds, 1)} s, ${n(o.converge.objectsPerSecond)} objects/s (${n(o.converge.writes)} writes for ${n(o.converge.objects)} objects; CPU s: API server ${o.converge.cpu.apiServer}, etcd ${o.converge.cpu.etcd}, operator ${o.converge.cpu.client})`,
      "",
    ])
    rows.push([
      "… as the API server saw it",
      `${n(o.converge.server.serverLatencyMs.p50, 1)} ms p50, ${n(o.converge.server.serverLatencyMs.p99, 1)} ms p99 inside the server; ${n(o.converge.server.averageInFlight, 2)} writes in flight on average`,
      `≤ ${r.parameters.concurrency}`,
    ])
    rows.push([
      "Ratio to the ceiling (mean of the two ceiling runs)",
      `${n(o.converge.ratioToCeiling, 2)} ${mark(o.converge.ratioToCeiling >= targets.ratioToCeiling)}`,
      `≥ ${targets.ratioToCeiling}`,
    ])
    rows.push([
      `Mutating requests during ${o.steadyState.resyncs} resyncs of the converged set (${n(o.steadyState.reconciles)} reconciles)`,
      `${n(o.steadyState.mutatingRequests)} ${mark(o.steadyState.mutatingRequests === targets.steadyStateWrites)}`,
      "0",
    ])
    rows.push([
      `Drift repair latency over ${o.drift.deletions} child deletions`,
      `p50 ${n(o.drift.p50Ms)} ms, p99 ${n(o.drift.p99Ms)} ms ${mark(o.drift.p99Ms <= targets.driftP99Ms)} (slowest: ${o.drift.slowest.map(describeRepair).join("; ")})`,
      `p99 ≤ ${n(targets.driftP99Ms)} ms`,
    ])
    rows.push([
      `Operator RSS with ${n(o.converge.workspaces)} Workspaces (after convergence; peak)`,
      `${n(o.memory.rssMiB)} MiB (${n(o.memory.anonMiB)} anonymous + ${n(o.memory.fileMiB)} mapped files); peak ${n(o.memory.peakRssMiB)} MiB; idle with no Workspaces ${n(o.memory.idleRssMiB)} MiB ${mark(o.memory.rssMiB <= targets.rssMiB)}`,
      `≤ ${targets.rssMiB} MiB`,
    ])
    rows.push([
      `Cold start to ready with ${n(o.converge.workspaces)} existing (writes after the restart)`,
      `${n(o.coldStart.secondsToReady, 2)} s (${n(o.coldStart.writesAfterRestart)} writes)`,
      "",
    ])
  }
  const p = r.pure
  rows.push([
    "Planner (resync; new Workspace)",
    `${n(p.planner.resync.plansPerSecond)}; ${n(p.planner.newWorkspace.plansPerSecond)} plans/s`,
    `≥ ${n(p.planner.target)}`,
  ])
  rows.push([
    `Validator (${n(p.validator.files)} files: read + parse + validate)`,
    `${n(p.validator.filesPerSecond)} files/s`,
    `≥ ${n(p.validator.target)}`,
  ])
  const operatorProcess = "skipped" in r.operator ? "" : ` The operator ran as ${r.operator.process}.`
  return [
    `Measured ${r.date.slice(0, 10)} at ${r.commit} on ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.os}, ` +
      `Node ${m.node}, Kubernetes ${m.kubernetes}, etcd ${m.etcd}; load average ${m.loadAverageAtStart} at the start. ` +
      `Concurrency ${r.parameters.concurrency}, resync period ${r.parameters.resyncPeriodSeconds} s, one private ` +
      `control plane (etcd + kube-apiserver) on the same machine.${operatorProcess}`,
    "",
    "| measurement | result | target |",
    "| --- | --- | --- |",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
  ].join("\n")
}
