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
    readonly idleSeconds: number
    readonly driftDeletions: number
  }
  readonly ceiling: CeilingResult
  /** The same, measured again after the operator's measurements (the ratio uses the mean of both). */
  readonly ceilingAfter?: CeilingResult
  readonly operator: OperatorResult | { readonly skipped: string }
  readonly pure: PureThroughput
  /** The 1-minute load average at the end of the run (the start's is in `machine`). */
  readonly loadAverageAtEnd: number
  readonly seconds: number
}

/** The goals of issue 22 (test/bench/README.md). */
export const targets = {
  ratioToCeiling: 0.85,
  atRestWrites: 0,
  resyncCpuSecondsPer1000: 1,
  idleCpuSecondsPerMinute: 1,
  driftP99Ms: 100,
  driftMaxMs: 250,
  kibPerWorkspace: 30,
  rssMiBAt1000: 150,
  rssMiBAt5000: 300,
  cpuPerWriteMs: 0.8,
  coldStartSeconds: 10,
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

const memoryText = (m: { rssMiB: number; anonMiB: number; fileMiB: number; heapUsedMiB?: number }) =>
  `${n(m.rssMiB)} MiB (${n(m.anonMiB)} anonymous + ${n(m.fileMiB)} file${m.heapUsedMiB === undefined ? "" : `; live heap ${n(m.heapUsedMiB)} MiB`})`

const operatorRows = (r: BenchReport, o: OperatorResult): Array<[string, string, string]> => {
  const rows: Array<[string, string, string]> = []
  const N = o.converge.workspaces
  const c = o.converge
  rows.push([
    `Operator converges ${n(N)} new Workspaces (children applied + status written)`,
    `${n(c.seconds, 1)} s, ${n((c.seconds * 1000) / N, 1)} ms per Workspace, ${n(c.objectsPerSecond)} objects/s (${n(c.writes)} writes for ${n(c.objects)} objects; CPU s: API server ${c.cpu.apiServer}, etcd ${c.cpu.etcd}, operator ${c.cpu.client})`,
    "",
  ])
  rows.push([
    "… as the API server saw it",
    `${n(c.server.serverLatencyMs.p50, 1)} ms p50, ${n(c.server.serverLatencyMs.p99, 1)} ms p99 inside the server; ${n(c.server.averageInFlight, 2)} writes in flight on average`,
    `≤ ${r.parameters.concurrency}`,
  ])
  rows.push([
    "Operator CPU per write while converging (all of its CPU, spawn to convergence, CPU-profiled)",
    `${n(c.cpuPerWriteMs, 2)} ms ${mark(c.cpuPerWriteMs <= targets.cpuPerWriteMs)}`,
    `≤ ${targets.cpuPerWriteMs} ms`,
  ])
  rows.push([
    "Ratio to the ceiling (mean of the ceiling runs)",
    `${n(c.ratioToCeiling, 2)} ${mark(c.ratioToCeiling >= targets.ratioToCeiling)}`,
    `≥ ${targets.ratioToCeiling}`,
  ])
  const rest = o.atRest
  const passes = rest.passes
  const resyncBudget = (targets.resyncCpuSecondsPer1000 * N) / 1000
  const worstPass = Math.max(...passes.map((p) => p.cpuSeconds))
  rows.push([
    `A full resync of the ${n(N)} converged Workspaces (period ${n(rest.resyncPeriodSeconds)} s; CPU less idle)`,
    `${passes.map((p) => `${n(p.cpuSeconds, 2)} s CPU (${n(p.reconciles)} reconciles in ${n(p.seconds, 1)} s)`).join("; ")} ${mark(passes.length > 0 && worstPass <= resyncBudget)}`,
    `≤ ${n(resyncBudget, 1)} s`,
  ])
  rows.push([
    `Mutating requests at rest (${passes.length} resyncs and the pauses between them)`,
    `${n(rest.mutatingRequests)} ${mark(rest.mutatingRequests === targets.atRestWrites)} (Lease renewals, not counted: ${n(rest.leaseWrites)})`,
    "0",
  ])
  rows.push([
    "Idle operator between resyncs",
    `${n(rest.idleCpuPerMinute, 2)} s CPU per minute over ${n(rest.idleSeconds)} s ${mark(rest.idleCpuPerMinute <= targets.idleCpuSecondsPerMinute)} (no Workspaces: ${n(o.memory.idleCpuPerMinute, 2)} s per minute)`,
    `≤ ${targets.idleCpuSecondsPerMinute} s/min`,
  ])
  const d = o.drift
  rows.push([
    `Drift repair latency over ${d.deletions} child deletions`,
    `p50 ${n(d.p50Ms)} ms, p99 ${n(d.p99Ms)} ms, max ${n(d.maxMs)} ms ${mark(d.p99Ms <= targets.driftP99Ms && d.maxMs <= targets.driftMaxMs)} (slowest: ${d.slowest.map(describeRepair).join("; ")})`,
    `p99 ≤ ${targets.driftP99Ms} ms, none > ${targets.driftMaxMs} ms`,
  ])
  const w = o.watches
  rows.push([
    "Watch reconnects of the restarted operator (audit log) and the gap each left",
    `${n(w.reconnects)} reconnects; gap p50 ${n(w.gapMs.p50, 1)} ms, p99 ${n(w.gapMs.p99, 1)} ms, max ${n(w.gapMs.max, 1)} ms${w.worst === undefined ? "" : ` (${w.worst})`}; ${n(w.failuresLogged)} watch warnings logged`,
    "",
  ])
  const m = o.memory
  rows.push([
    "Idle operator with no Workspaces: RSS at sync, and after the idle period",
    `${memoryText(m.idle)}; ${memoryText(m.idleLater)} after ${n(m.idleSeconds)} s`,
    "",
  ])
  const rssTarget = N >= 5000 ? targets.rssMiBAt5000 : targets.rssMiBAt1000
  rows.push([
    `Operator RSS with ${n(N)} Workspaces: converged (process A); rested ${n(m.restedAfterSeconds)} s after its cold start (process B); at the end; peak`,
    `${memoryText(m.converged)}; ${memoryText(m.rested)} ${mark(m.rested.rssMiB <= rssTarget)}; ${memoryText(m.end)}; peak ${n(m.peakRssMiB)} MiB`,
    `≤ ${rssTarget} MiB at ${n(N >= 5000 ? 5000 : 1000)}`,
  ])
  rows.push([
    "Memory per Workspace: (RSS − RSS with none) / N, converged; rested",
    `${n(m.perWorkspaceKiB.converged)} KiB; ${n(m.perWorkspaceKiB.rested)} KiB ${mark(Math.max(m.perWorkspaceKiB.converged, m.perWorkspaceKiB.rested) <= targets.kibPerWorkspace)}`,
    `≤ ${targets.kibPerWorkspace} KiB`,
  ])
  rows.push([
    `Cold start to ready with ${n(N)} existing (writes after the restart)`,
    `${n(o.coldStart.secondsToReady, 2)} s (${n(o.coldStart.writesAfterRestart)} writes) ${mark(o.coldStart.secondsToReady <= targets.coldStartSeconds && o.coldStart.writesAfterRestart === 0)}`,
    `≤ ${targets.coldStartSeconds} s, 0 writes`,
  ])
  return rows
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
  if ("skipped" in r.operator) rows.push(["Operator measurements", `not run: ${r.operator.skipped}`, ""])
  else rows.push(...operatorRows(r, r.operator))
  const p = r.pure
  rows.push([
    "CPU reference: JSON.parse + JSON.stringify of the five samples' planned objects",
    `${n(p.reference.roundTripsPerSecond)} round trips/s (${n(p.reference.bytes / 1024)} KiB each)`,
    "",
  ])
  rows.push([
    "Planner (resync; new Workspace), and resync plans per reference round trip",
    `${n(p.planner.resync.plansPerSecond)}; ${n(p.planner.newWorkspace.plansPerSecond)} plans/s ${mark(p.planner.resync.plansPerSecond >= p.planner.target)}; ${n(p.planner.resyncPerReference, 1)}`,
    `≥ ${n(p.planner.target)}`,
  ])
  rows.push([
    `Validator (${n(p.validator.files)} files: read + parse + validate), and files per reference round trip`,
    `${n(p.validator.filesPerSecond)} files/s ${mark(p.validator.filesPerSecond >= p.validator.target)}; ${n(p.validator.filesPerReference, 2)}`,
    `≥ ${n(p.validator.target)}`,
  ])
  const operatorProcess =
    "skipped" in r.operator
      ? ""
      : ` The operator ran as ${r.operator.process} (bundle ${n(r.operator.bundleMiB, 2)} MiB).`
  return [
    `Measured ${r.date.slice(0, 10)} at ${r.commit} on ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.os}, ` +
      `Node ${m.node}, Kubernetes ${m.kubernetes}, etcd ${m.etcd}; load average ${m.loadAverageAtStart} at the start, ` +
      `${r.loadAverageAtEnd} at the end; ${n(r.seconds / 60, 1)} minutes. Concurrency ${r.parameters.concurrency}, ` +
      `resync period ${r.parameters.resyncPeriodSeconds} s, one private control plane (etcd + kube-apiserver) on the ` +
      `same machine.${operatorProcess}`,
    "",
    "| measurement | result | target |",
    "| --- | --- | --- |",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
  ].join("\n")
}
