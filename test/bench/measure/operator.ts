// The operator against N Workspaces, measured from the API server's audit log (every request of the operator's
// ServiceAccount, timestamped by the server) and from /proc:
//
// 1. Converge: N Workspaces exist, the operator (process A, CPU-profiled) starts; from its first write to its last,
//    once every Workspace has its status and the writes have stopped. Objects/s and the ratio to the ceiling.
// 2. Cold start: A stops; process B starts with N converged Workspaces: spawn → caches synced; writes it makes
//    while it reconciles every Workspace once (expected 0).
// 3. Steady state: three resync periods of B; mutating requests (expected 0) and reconciles.
// 4. Drift: 100 children deleted one at a time by another client; latency from the deletion to the operator's
//    re-apply of that object (p50/p99).
// 5. Memory: B's RSS after all that (and the peak of A and B).
import { type AuditEvent, auditSentinel } from "@cartographer/test/harness"
import { auditTail, auditTime } from "../support/auditTail.js"
import type { BenchCluster } from "../support/benchCluster.js"
import { type CpuSplit, cpuStopwatch } from "../support/cpu.js"
import { Mutations } from "../support/mutations.js"
import { collectionPath } from "../support/objectPaths.js"
import { eventOf, type OperatorProcess, startEngineHost } from "../support/operatorProcess.js"
import { type ServerView, serverView } from "../support/serverView.js"
import { createNamespace, createWorkspaces } from "../support/setup.js"
import { firstPlan } from "./ceiling.js"
import { type DriftResult, measureDrift } from "./drift.js"

export interface OperatorResult {
  readonly process: string
  readonly converge: {
    readonly workspaces: number
    /** Children + statuses: the same count as the ceiling's writes. */
    readonly objects: number
    /** Mutating requests the operator made to get there (more than `objects` when it writes something twice). */
    readonly writes: number
    readonly writesByKind: Readonly<Record<string, number>>
    readonly seconds: number
    readonly objectsPerSecond: number
    readonly ratioToCeiling: number
    /** Process spawn → caches synced, before the first write. */
    readonly secondsToSynced: number
    /** CPU seconds from spawn to convergence: kube-apiserver, etcd, and the operator ("client"). */
    readonly cpu: CpuSplit
    readonly server: ServerView
  }
  readonly coldStart: { readonly secondsToReady: number; readonly writesAfterRestart: number }
  readonly steadyState: {
    readonly resyncs: number
    readonly seconds: number
    readonly reconciles: number
    readonly mutatingRequests: number
    readonly mutatingByKind: Readonly<Record<string, number>>
  }
  readonly drift: DriftResult
  readonly memory: {
    readonly rssMiB: number
    /** RssAnon: what the process allocated (heap, native), without the node binary's mapped code (RssFile). */
    readonly anonMiB: number
    readonly fileMiB: number
    /** An idle engine host (no Workspaces) on the same machine: the floor every figure stands on. */
    readonly idleRssMiB: number
    readonly peakRssMiB: number
    readonly convergedRssMiB: number
    readonly heapUsedMiB?: number
  }
  readonly profile: string | undefined
}

export interface OperatorOptions {
  readonly workspaces: number
  readonly concurrency: number
  readonly resyncPeriodMs: number
  readonly driftDeletions: number
  readonly ceilingWritesPerSecond: number
  /** Where process A's CPU profile goes (`--cpu-prof-dir`). */
  readonly cpuProfileDir?: string
  readonly log?: (line: string) => void
}

const namespace = "bench-operator"
export const operatorBenchNamespace = namespace
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const profiledStopGraceMs = 120_000

const kindKey = (e: AuditEvent) =>
  `${e.verb} ${e.objectRef?.resource ?? "?"}${e.objectRef?.subresource === undefined ? "" : `/${e.objectRef.subresource}`}`
const countBy = (events: ReadonlyArray<AuditEvent>) => {
  const counts: Record<string, number> = {}
  for (const e of events) counts[kindKey(e)] = (counts[kindKey(e)] ?? 0) + 1
  return counts
}

const hostConfig = (cluster: BenchCluster, options: OperatorOptions, identity: string) => ({
  kubeconfig: cluster.operator.kubeconfigPath,
  namespaces: [namespace],
  concurrency: options.concurrency,
  resyncPeriodMs: options.resyncPeriodMs,
  identity,
  reportReconciles: true,
  reportMemoryEveryMs: 1000,
})

const waitUntilQuiet = async (writes: Mutations, quietMs: number, done: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  let lastWrite = Date.now()
  for (;;) {
    if ((await writes.poll()).length > 0) lastWrite = Date.now()
    if (done() && Date.now() - lastWrite >= quietMs) return
    if (Date.now() > deadline) throw new Error(`not converged within ${timeoutMs} ms`)
    await sleep(100)
  }
}

export const measureOperator = async (cluster: BenchCluster, options: OperatorOptions): Promise<OperatorResult> => {
  const log = options.log ?? (() => {})
  await createNamespace(cluster.api, namespace)
  const live = await createWorkspaces(cluster.api, namespace, options.workspaces)
  const plans = live.map(firstPlan)
  const objects = plans.reduce((sum, p) => sum + p.apply.length + 1, 0)
  const tail = auditTail(cluster.controlPlane.auditLogPath, { fromEnd: true })
  const writes = new Mutations(tail, cluster.operator.user)
  await writes.poll()

  // 0. The floor: an idle operator on an empty namespace.
  await createNamespace(cluster.api, "bench-idle")
  const idleHost = await startEngineHost({ ...hostConfig(cluster, options, "bench-idle"), namespaces: ["bench-idle"] })
  await idleHost.waitFor(eventOf("synced"), 60_000)
  await sleep(3_000)
  const idle = await idleHost.memory()
  await idleHost.stop()

  // 1. Converge (process A, profiled).
  log(`converging ${options.workspaces} Workspaces (${objects} objects)…`)
  const a = await startEngineHost(
    hostConfig(cluster, options, "bench-a"),
    options.cpuProfileDir === undefined ? {} : { cpuProfileDir: options.cpuProfileDir },
  )
  const cpu = await cpuStopwatch(cluster.controlPlane, a.pid)
  let peakRss = 0
  let b: OperatorProcess | undefined
  try {
    const synced = await a.waitFor(eventOf("synced"), 120_000)
    const statusWritten = new Set<string>()
    await waitUntilQuiet(
      writes,
      3_000,
      () => {
        for (const e of writes.all) if (e.objectRef?.subresource === "status") statusWritten.add(e.objectRef.name ?? "")
        return statusWritten.size >= options.workspaces
      },
      Math.max(300_000, options.workspaces * 600),
    )
    const converging = writes.all
    const first = converging[0]
    const last = converging.at(-1)
    if (first === undefined || last === undefined) throw new Error("the operator wrote nothing")
    const seconds = (auditTime(last.stageTimestamp) - auditTime(first.requestReceivedTimestamp)) / 1000
    const convergedMemory = await a.memory()
    const convergeCpu = await cpu.elapsed()
    log(`converged in ${seconds.toFixed(1)} s with ${converging.length} writes`)
    await checkChildrenExist(cluster, plans)

    // 2. Cold start (process B, not profiled) with N converged Workspaces. A writes its CPU profile as it exits: its
    // grace must outlast the engine's own shutdown grace (30 s), or a SIGKILL can cut the profile short.
    await a.stop(profiledStopGraceMs)
    peakRss = Math.max(peakRss, convergedMemory?.peakRssBytes ?? 0)
    const restartAt = Date.now()
    b = await startEngineHost(hostConfig(cluster, options, "bench-b"))
    const ready = await b.waitFor(eventOf("synced"), 120_000)
    const reconciledOnce = new Set<string>()
    await waitUntilQuiet(
      writes,
      3_000,
      () => {
        for (const e of b?.events ?? []) if (e.event === "reconciled") reconciledOnce.add(e.key)
        return reconciledOnce.size >= options.workspaces
      },
      Math.max(120_000, options.workspaces * 200),
    )
    const writesAfterRestart = writes.since(restartAt).length
    log(`cold start: ready in ${((ready.t - b.startedAt) / 1000).toFixed(2)} s, ${writesAfterRestart} writes`)

    // 3. Steady state: three resync periods.
    const steadyFrom = Date.now()
    const reconcilesBefore = b.events.filter((e) => e.event === "reconciled").length
    const resyncs = 3
    // Until every Workspace has been reconciled three more times (three resync passes; a busy machine can stretch
    // a period), and at least three periods.
    const host = b
    const countsSince = () => {
      const counts = new Map<string, number>()
      for (const e of host.events)
        if (e.event === "reconciled" && e.t >= steadyFrom) counts.set(e.key, (counts.get(e.key) ?? 0) + 1)
      return counts
    }
    const steadyDeadline = steadyFrom + resyncs * options.resyncPeriodMs * 3
    await sleep(resyncs * options.resyncPeriodMs * 1.1)
    for (;;) {
      const counts = countsSince()
      if (counts.size >= options.workspaces && Math.min(...counts.values()) >= resyncs) break
      if (Date.now() > steadyDeadline) throw new Error(`fewer than ${resyncs} resyncs within ${resyncs * 3} periods`)
      await sleep(500)
    }
    // Every write made until now is in the audit log once the sentinel request is.
    await auditSentinel(cluster.controlPlane.auditLogPath, ({ path }) => cluster.api.send({ method: "GET", path }))
    await writes.poll()
    const steadyWrites = writes.since(steadyFrom)
    const reconciles = b.events.filter((e) => e.event === "reconciled").length - reconcilesBefore
    log(`steady state: ${reconciles} reconciles, ${steadyWrites.length} writes`)

    // 4. Drift repair.
    const drift = await measureDrift(cluster, plans, writes, options.driftDeletions, b)
    log(`drift: p50 ${drift.p50Ms.toFixed(0)} ms, p99 ${drift.p99Ms.toFixed(0)} ms`)

    // 5. Memory.
    const memory = await b.memory()
    const heap = [...b.events].reverse().find((e) => e.event === "memory")
    peakRss = Math.max(peakRss, memory?.peakRssBytes ?? 0)
    return {
      process: "the engine host (test/bench/support/engineHost.ts, bundled with esbuild)",
      converge: {
        workspaces: options.workspaces,
        objects,
        writes: converging.length,
        writesByKind: countBy(converging),
        seconds,
        objectsPerSecond: objects / seconds,
        ratioToCeiling: objects / seconds / options.ceilingWritesPerSecond,
        secondsToSynced: (synced.t - a.startedAt) / 1000,
        cpu: convergeCpu,
        server: serverView(converging),
      },
      coldStart: { secondsToReady: (ready.t - b.startedAt) / 1000, writesAfterRestart },
      steadyState: {
        resyncs,
        seconds: (Date.now() - steadyFrom) / 1000,
        reconciles,
        mutatingRequests: steadyWrites.length,
        mutatingByKind: countBy(steadyWrites),
      },
      drift,
      memory: {
        rssMiB: mib(memory?.rssBytes ?? 0),
        anonMiB: mib(memory?.anonBytes ?? 0),
        fileMiB: mib(memory?.fileBytes ?? 0),
        idleRssMiB: mib(idle?.rssBytes ?? 0),
        peakRssMiB: mib(peakRss),
        convergedRssMiB: mib(convergedMemory?.rssBytes ?? 0),
        ...(heap?.event === "memory" ? { heapUsedMiB: mib(heap.heapUsed) } : {}),
      },
      profile: options.cpuProfileDir,
    }
  } finally {
    await a.stop(profiledStopGraceMs)
    await b?.stop(30_000)
  }
}

/** Every planned child exists (one list per kind); throws naming the missing ones. */
const checkChildrenExist = async (cluster: BenchCluster, plans: ReadonlyArray<ReturnType<typeof firstPlan>>) => {
  const expected = new Map<string, Set<string>>()
  for (const p of plans)
    for (const o of p.apply) {
      const names = expected.get(o.kind) ?? new Set()
      names.add(o.metadata.name)
      expected.set(o.kind, names)
    }
  const missing: Array<string> = []
  for (const [kind, names] of expected) {
    const response = await cluster.api.send({ method: "GET", path: collectionPath(kind, namespace) })
    const items = (JSON.parse(response.body) as { items: ReadonlyArray<{ metadata: { name: string } }> }).items
    const present = new Set(items.map((i) => i.metadata.name))
    for (const name of names) if (!present.has(name)) missing.push(`${kind}/${name}`)
  }
  if (missing.length > 0) throw new Error(`converged, but missing: ${missing.slice(0, 20).join(", ")}`)
}
