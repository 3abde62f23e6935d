// The shipped operator (`cartographer run`, shippedOperator.ts) against N Workspaces, measured from the API server's
// audit log (every request of the operator's ServiceAccount, timestamped by the server), the operator's log lines
// and /metrics, and /proc:
//
// 0. Idle: an operator on an empty namespace: its memory at sync and after `idleSeconds`, and its CPU meanwhile.
// 1. Converge: N Workspaces exist, the operator (process A, CPU-profiled) starts; from its first write to its last,
//    once every Workspace has its status and the writes have stopped. Objects/s, the ratio to the ceiling, CPU.
// 2. Cold start: A stops; process B starts with N converged Workspaces: spawn → caches synced; writes it makes
//    while it reconciles every Workspace once (expected 0).
// 3. At rest: B idles until its first resync, then runs three resync passes; their cost, the idle CPU between them,
//    the writes (expected 0), and its memory after the idle minute.
// 4. Drift: children deleted one at a time by another client; latency from the deletion to the re-apply.
// 5. Watches: how long B's watches were down between connections.
import { type AuditEvent, auditSentinel } from "@cartographer/test/harness"
import { auditTail, auditTime } from "../support/auditTail.js"
import { type BenchCluster, operatorNamespace } from "../support/benchCluster.js"
import { type CpuSplit, cpuStopwatch } from "../support/cpu.js"
import { Mutations } from "../support/mutations.js"
import { collectionPath } from "../support/objectPaths.js"
import type { MemoryStats } from "../support/processEvents.js"
import { type ServerView, serverView } from "../support/serverView.js"
import { createNamespace, createWorkspaces } from "../support/setup.js"
import { isEvent, type ShippedOperator, shippedBundle, startShippedOperator } from "../support/shippedOperator.js"
import { type AtRest, atRest, cpuSampler } from "./atRest.js"
import { firstPlan } from "./ceiling.js"
import { type DriftResult, measureDrift } from "./drift.js"
import { type WatchGaps, watchGaps } from "./watchGaps.js"

export interface Memory {
  readonly rssMiB: number
  /** RssAnon: what the process allocated (heap, native). */
  readonly anonMiB: number
  /** RssFile: mapped files, mostly the node binary's code, shared with other Node processes. */
  readonly fileMiB: number
  /** V8's live heap as the operator's /metrics report it (`nodejs_heap_size_used_bytes`). */
  readonly heapUsedMiB?: number
}

export interface OperatorResult {
  readonly process: string
  readonly bundleMiB: number
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
    /** All of the operator's CPU over its writes (children and statuses). */
    readonly cpuPerWriteMs: number
    readonly server: ServerView
  }
  readonly coldStart: { readonly secondsToReady: number; readonly writesAfterRestart: number }
  readonly atRest: AtRest & {
    readonly mutatingRequests: number
    readonly mutatingByKind: Readonly<Record<string, number>>
    /** Lease writes of leader election meanwhile (not counted as writes at rest). */
    readonly leaseWrites: number
  }
  readonly drift: DriftResult
  readonly watches: WatchGaps & { readonly failuresLogged: number }
  readonly memory: {
    /** No Workspaces, at sync and after the idle period; its CPU per minute meanwhile. */
    readonly idle: Memory
    readonly idleLater: Memory
    readonly idleCpuPerMinute: number
    readonly idleSeconds: number
    /** Process A once converged (CPU-profiled). */
    readonly converged: Memory
    /** Process B just before its first resync: converged, then idle since its cold start's pass. */
    readonly rested: Memory
    readonly restedAfterSeconds: number
    /** Process B at the end (after the resyncs and the drift). */
    readonly end: Memory
    /** The highest VmHWM of A and B. */
    readonly peakRssMiB: number
    /** (RSS − RSS with none) / N, after convergence (A) and at rest (B, against the idle one later). */
    readonly perWorkspaceKiB: { readonly converged: number; readonly rested: number }
  }
}

export interface OperatorOptions {
  readonly workspaces: number
  readonly concurrency: number
  readonly resyncPeriodSeconds: number
  readonly idleSeconds: number
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

/** Memory from /proc, with the live heap from /metrics unless `scrape` is false (a scrape costs the operator CPU). */
const memoryOf = async (
  operator: ShippedOperator,
  scrape = true,
): Promise<Memory & { readonly peakRssBytes: number }> => {
  const stats: MemoryStats | undefined = await operator.memory()
  const heap = scrape
    ? operator.metric(await operator.metrics().catch(() => ""), "nodejs_heap_size_used_bytes")
    : undefined
  return {
    rssMiB: mib(stats?.rssBytes ?? 0),
    anonMiB: mib(stats?.anonBytes ?? 0),
    fileMiB: mib(stats?.fileBytes ?? 0),
    ...(heap === undefined ? {} : { heapUsedMiB: mib(heap) }),
    peakRssBytes: stats?.peakRssBytes ?? 0,
  }
}
const withoutPeak = ({ peakRssBytes: _, ...memory }: Memory & { readonly peakRssBytes: number }): Memory => memory

export const measureOperator = async (cluster: BenchCluster, options: OperatorOptions): Promise<OperatorResult> => {
  const log = options.log ?? (() => {})
  const bundle = await shippedBundle()
  await createNamespace(cluster.api, namespace)
  const live = await createWorkspaces(cluster.api, namespace, options.workspaces)
  const plans = live.map(firstPlan)
  const objects = plans.reduce((sum, p) => sum + p.apply.length + 1, 0)
  const tail = auditTail(cluster.controlPlane.auditLogPath, { fromEnd: true })
  const writes = new Mutations(tail, cluster.operator.user)
  await writes.poll()
  const operatorConfig = (name: string, namespaces: ReadonlyArray<string>, resyncPeriodSeconds: number) => ({
    kubeconfig: cluster.operator.kubeconfigPath,
    namespaces,
    resyncPeriodSeconds,
    concurrency: options.concurrency,
    podName: name,
    podNamespace: operatorNamespace,
  })
  const leading = isEvent("leading")

  // 0. The floor: an idle operator on an empty namespace.
  await createNamespace(cluster.api, "bench-idle")
  const idleOperator = await startShippedOperator(operatorConfig("bench-idle", ["bench-idle"], 36_000))
  await idleOperator.waitFor(leading, 60_000)
  await sleep(3_000)
  const idle = await memoryOf(idleOperator)
  const idleCpuFrom = await idleOperator.cpuSeconds()
  await sleep(options.idleSeconds * 1000)
  const idleCpu = (await idleOperator.cpuSeconds()) - idleCpuFrom
  const idleLater = await memoryOf(idleOperator)
  await idleOperator.stop(30_000)
  log(`idle, no Workspaces: ${idle.rssMiB} MiB, ${idleLater.rssMiB} MiB after ${options.idleSeconds} s`)

  // 1. Converge (process A, profiled).
  log(`converging ${options.workspaces} Workspaces (${objects} objects)…`)
  const a = await startShippedOperator({
    ...operatorConfig("bench-a", [namespace], options.resyncPeriodSeconds),
    ...(options.cpuProfileDir === undefined ? {} : { cpuProfileDir: options.cpuProfileDir }),
  })
  const cpu = await cpuStopwatch(cluster.controlPlane, a.pid)
  let b: ShippedOperator | undefined
  try {
    const synced = await a.waitFor(isEvent("synced"), 120_000)
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
    // A copy: `writes.all` goes on growing with the cold start's and the drift repairs' writes.
    const converging = [...writes.all]
    const first = converging[0]
    const last = converging.at(-1)
    if (first === undefined || last === undefined) throw new Error("the operator wrote nothing")
    const seconds = (auditTime(last.stageTimestamp) - auditTime(first.requestReceivedTimestamp)) / 1000
    const convergeCpu = await cpu.elapsed()
    const converged = await memoryOf(a)
    log(`converged in ${seconds.toFixed(1)} s with ${converging.length} writes, ${convergeCpu.client} s CPU`)
    await checkChildrenExist(cluster, plans)

    // 2. Cold start (process B, not profiled) with N converged Workspaces. A writes its CPU profile as it exits: its
    // grace must outlast the engine's own shutdown grace (30 s), or a SIGKILL can cut the profile short.
    await a.stop(profiledStopGraceMs)
    const restartAt = Date.now()
    b = await startShippedOperator(operatorConfig("bench-b", [namespace], options.resyncPeriodSeconds))
    const host = b
    const sampler = cpuSampler(host)
    const ready = await host.waitFor(isEvent("synced"), 120_000)
    const reconciledOnce = new Set<string>()
    await waitUntilQuiet(
      writes,
      3_000,
      () => {
        for (const e of host.events) if (e.event === "reconciled") reconciledOnce.add(e.key)
        return reconciledOnce.size >= options.workspaces
      },
      Math.max(120_000, options.workspaces * 200),
    )
    const writesAfterRestart = writes.since(restartAt).length
    log(`cold start: ready in ${((ready.t - host.startedAt) / 1000).toFixed(2)} s, ${writesAfterRestart} writes`)

    // 3. At rest: idle until the first resync (its memory just before it), then three resync passes.
    const restFrom = Date.now()
    const reconcilesSoFar = () => host.events.filter((e) => e.event === "reconciled" && e.t >= restFrom).length
    let rested = await memoryOf(host, false)
    let restedAt = Date.now()
    while (reconcilesSoFar() === 0 && Date.now() - restFrom < options.resyncPeriodSeconds * 1500) {
      rested = await memoryOf(host, false)
      restedAt = Date.now()
      await sleep(1_000)
    }
    const resyncs = 3
    const countsSince = () => {
      const counts = new Map<string, number>()
      for (const e of host.events)
        if (e.event === "reconciled" && e.t >= restFrom) counts.set(e.key, (counts.get(e.key) ?? 0) + 1)
      return counts
    }
    const restDeadline = restFrom + resyncs * options.resyncPeriodSeconds * 3000
    for (;;) {
      const counts = countsSince()
      if (counts.size >= options.workspaces && Math.min(...counts.values()) >= resyncs) break
      if (Date.now() > restDeadline) throw new Error(`fewer than ${resyncs} resyncs within ${resyncs * 3} periods`)
      await sleep(500)
    }
    // The last pass's tail, then every write made until now is in the audit log once the sentinel request is.
    await sleep(2_000)
    const restTo = Date.now()
    await auditSentinel(cluster.controlPlane.auditLogPath, ({ path }) => cluster.api.send({ method: "GET", path }))
    await writes.poll()
    await sampler.stop()
    const restWrites = writes.since(restFrom).filter((e) => auditTime(e.requestReceivedTimestamp) <= restTo)
    const rest = atRest(host.events, sampler.samples, {
      from: restFrom,
      to: restTo,
      resyncPeriodSeconds: options.resyncPeriodSeconds,
      pauseMs: Math.min(5_000, (options.resyncPeriodSeconds * 1000) / 4),
    })
    log(
      `at rest: ${rest.passes.length} passes (${rest.passes.map((p) => `${p.reconciles} in ${p.seconds.toFixed(1)} s, ${p.cpuSeconds.toFixed(2)} s CPU`).join("; ")}), idle ${rest.idleCpuPerMinute.toFixed(2)} s CPU/min, ${restWrites.length} writes`,
    )

    // 4. Drift repair.
    const drift = await measureDrift(cluster, plans, writes, options.driftDeletions, host)
    log(`drift: p50 ${drift.p50Ms.toFixed(0)} ms, p99 ${drift.p99Ms.toFixed(0)} ms, max ${drift.maxMs.toFixed(0)} ms`)

    // 5. Memory, then the watches' gaps once B's last connections have ended.
    const end = await memoryOf(host)
    const watchFailures = host.events.filter((e) => e.event === "warning" && e.msg.startsWith("watch")).length
    await host.stop(30_000)
    await auditSentinel(cluster.controlPlane.auditLogPath, ({ path }) => cluster.api.send({ method: "GET", path }))
    await writes.poll()
    const gaps = watchGaps(writes.watchesEnded.filter((w) => auditTime(w.requestReceivedTimestamp) >= host.startedAt))
    log(
      `watches: ${gaps.reconnects} reconnects, gap p99 ${gaps.gapMs.p99.toFixed(0)} ms, max ${gaps.gapMs.max.toFixed(0)} ms`,
    )

    const perWorkspace = (memory: Memory, floor: Memory) =>
      Math.round(((memory.rssMiB - floor.rssMiB) * 1024) / options.workspaces)
    return {
      process: `cartographer run (${bundle.path.replace(/^.*\/apps\//u, "apps/")}, built as npm run build does) with the arguments and environment of install/manager/deployment.yaml, its listen addresses on loopback, --kubeconfig, --namespaces and --resync-period`,
      bundleMiB: mib(bundle.bytes),
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
        cpuPerWriteMs: (convergeCpu.client * 1000) / converging.length,
        server: serverView(converging),
      },
      coldStart: { secondsToReady: (ready.t - host.startedAt) / 1000, writesAfterRestart },
      atRest: {
        ...rest,
        mutatingRequests: restWrites.length,
        mutatingByKind: countBy(restWrites),
        leaseWrites: writes.lease.filter((e) => {
          const t = auditTime(e.requestReceivedTimestamp)
          return t >= restFrom && t <= restTo
        }).length,
      },
      drift,
      watches: { ...gaps, failuresLogged: watchFailures },
      memory: {
        idle: withoutPeak(idle),
        idleLater: withoutPeak(idleLater),
        idleCpuPerMinute: (idleCpu * 60) / options.idleSeconds,
        idleSeconds: options.idleSeconds,
        converged: withoutPeak(converged),
        rested: withoutPeak(rested),
        restedAfterSeconds: (restedAt - restFrom) / 1000,
        end: withoutPeak(end),
        peakRssMiB: mib(Math.max(converged.peakRssBytes, end.peakRssBytes)),
        perWorkspaceKiB: { converged: perWorkspace(converged, idle), rested: perWorkspace(rested, idleLater) },
      },
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
