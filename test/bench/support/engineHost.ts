// A small operator process for the benchmark and the chaos suites: the engine of @cartographer/reconciler (and, when
// asked, @cartographer/k8s leader election) in a process of its own, so that its memory is measured alone and it
// can be killed with SIGKILL. It differs from `cartographer run` in what a test needs and the operator does not
// expose: the resync period and progressing requeue, fault injection (crash after the n-th write, dropped or delayed
// watch events) and machine-readable progress on stdout (one JSON object per line).
//
// Configuration: the JSON in $CARTOGRAPHER_ENGINE_HOST (see `EngineHostConfig`). Bundled by esbuild before it runs
// (operatorProcess.ts), so that no TypeScript loader sits in the measured process.

import { monitorEventLoopDelay } from "node:perf_hooks"
import { getHeapStatistics } from "node:v8"
import { KubeClient, LeaderElection } from "@cartographer/k8s"
import { Engine } from "@cartographer/reconciler"
import { Faults, type FaultsShape, type Write } from "@cartographer/reconciler/testing"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Logger, References } from "effect"
import { limitHeapGrowth } from "../../../apps/operator/src/run/HeapGrowth.js"
import type { ReconciledEvent } from "./processEvents.js"

export interface EngineHostFaults {
  /** Kill this process (SIGKILL, no cleanup) right after its n-th successful write: a crash between two writes. */
  readonly crashAfterWrites?: number
  /** Drop each watch event of these kinds (all kinds when absent) with this probability: lost notifications. */
  readonly dropEvents?: { readonly probability: number; readonly kinds?: ReadonlyArray<string> }
  /** Hold each watch event of these kinds this long before the cache sees it: a lagging cache (stale reads). */
  readonly delayEvents?: { readonly millis: number; readonly kinds?: ReadonlyArray<string> }
  /** Print every write (`{"event":"write",...}`). */
  readonly reportWrites?: boolean
}

export interface EngineHostConfig {
  readonly kubeconfig: string
  readonly namespaces?: ReadonlyArray<string>
  readonly concurrency: number
  readonly resyncPeriodMs: number
  /** How soon a Workspace still progressing is reconciled again. Default: the engine's (30 s). */
  readonly progressingRequeueMs?: number
  readonly identity: string
  readonly fieldManager?: string
  readonly leaderElection?: {
    readonly namespace: string
    readonly name: string
    readonly leaseDurationMs: number
    readonly renewDeadlineMs: number
    readonly retryPeriodMs: number
  }
  readonly faults?: EngineHostFaults
  /** Print every reconcile (`{"event":"reconciled",...}`). */
  readonly reportReconciles?: boolean
  /**
   * Print the V8 heap's size this often (`{"event":"memory",...}`). From V8's own counters, never
   * `process.memoryUsage()`: that reads /proc/self/stat for the RSS, synchronously on the event loop, and the CPU
   * profile of a 1,000-Workspace run on a busy machine put 36 s of its 129 s there (more than the process's whole
   * CPU time: the loop was blocked, not computing). The RSS is read from outside, from /proc/<pid>/status
   * (operatorProcess.ts). Each report also carries the longest event-loop block since the previous one.
   */
  readonly reportMemoryEveryMs?: number
  /** Seed of the fault dice, so that a run can be repeated. */
  readonly seed?: number
  readonly logLevel?: "Debug" | "Info" | "Warn" | "Error"
}

/** One line of the host's stdout. */
export type EngineHostEvent =
  | { readonly event: "started"; readonly t: number }
  | { readonly event: "synced"; readonly t: number }
  | { readonly event: "leading"; readonly t: number; readonly identity: string }
  | { readonly event: "lost"; readonly t: number; readonly identity: string }
  | ReconciledEvent
  | { readonly event: "write"; readonly t: number; readonly n: number; readonly write: Write }
  | { readonly event: "crash"; readonly t: number; readonly afterWrites: number }
  | { readonly event: "dropped"; readonly t: number; readonly kind: string; readonly object?: string | undefined }
  | {
      readonly event: "memory"
      readonly t: number
      readonly heapUsed: number
      readonly heapTotal: number
      /** The longest the event loop was blocked since the previous report (what delays a watch event). */
      readonly loopDelayMaxMs: number
    }

const emit = (event: EngineHostEvent) => {
  // Pipes are written synchronously on Linux: a line is out before a SIGKILL that follows it.
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

/** mulberry32: a small seeded generator, so that the dropped events of a run can be reproduced. */
const dice = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const faultsOf = (config: EngineHostConfig): FaultsShape => {
  const faults = config.faults ?? {}
  const roll = dice(config.seed ?? 1)
  let writes = 0
  const applies = (kinds: ReadonlyArray<string> | undefined, kind: string) =>
    kinds === undefined || kinds.includes(kind)
  return {
    afterWrite: (write) =>
      Effect.sync(() => {
        writes += 1
        if (faults.reportWrites === true) emit({ event: "write", t: Date.now(), n: writes, write })
        if (faults.crashAfterWrites !== undefined && writes >= faults.crashAfterWrites) {
          emit({ event: "crash", t: Date.now(), afterWrites: writes })
          process.kill(process.pid, "SIGKILL")
        }
      }),
    beforeEvent: (event) =>
      Effect.gen(function* () {
        // The initial list (SYNCED) is never touched: a cache that never syncs is a different fault.
        if (event.type === "SYNCED") return true
        const drop = faults.dropEvents
        if (drop !== undefined && applies(drop.kinds, event.kind) && roll() < drop.probability) {
          emit({ event: "dropped", t: Date.now(), kind: event.kind, object: event.object })
          return false
        }
        const delay = faults.delayEvents
        if (delay !== undefined && applies(delay.kinds, event.kind)) yield* Effect.sleep(delay.millis)
        return true
      }),
  }
}

const program = (config: EngineHostConfig) =>
  Effect.gen(function* () {
    emit({ event: "started", t: Date.now() })
    const every = config.reportMemoryEveryMs
    if (every !== undefined) {
      const loop = monitorEventLoopDelay({ resolution: 10 })
      loop.enable()
      const timer = setInterval(() => {
        const heap = getHeapStatistics()
        const loopDelayMaxMs = loop.max / 1e6
        loop.reset()
        emit({
          event: "memory",
          t: Date.now(),
          heapUsed: heap.used_heap_size,
          heapTotal: heap.total_heap_size,
          loopDelayMaxMs,
        })
      }, every)
      timer.unref()
    }
    const engine = yield* Engine.make({
      ...(config.namespaces === undefined ? {} : { namespaces: config.namespaces }),
      concurrency: config.concurrency,
      resyncPeriod: `${config.resyncPeriodMs} millis`,
      ...(config.progressingRequeueMs === undefined
        ? {}
        : { progressingRequeue: `${config.progressingRequeueMs} millis` }),
      identity: config.identity,
      ...(config.fieldManager === undefined ? {} : { fieldManager: config.fieldManager }),
      observer: {
        reconciled: ({ key, result, seconds }) => {
          if (config.reportReconciles === true)
            emit({ event: "reconciled", t: Date.now(), key, result, ms: Math.round(seconds * 1000) })
        },
        queue: () => {},
      },
    }).pipe(Effect.provideService(Faults, faultsOf(config)))
    yield* engine.synced
    emit({ event: "synced", t: Date.now() })
    const election = config.leaderElection
    if (election === undefined) return yield* engine.run
    const elector = yield* LeaderElection.make({
      namespace: election.namespace,
      name: election.name,
      identity: config.identity,
      leaseDuration: `${election.leaseDurationMs} millis`,
      renewDeadline: `${election.renewDeadlineMs} millis`,
      retryPeriod: `${election.retryPeriodMs} millis`,
    })
    yield* elector.acquired
    emit({ event: "leading", t: Date.now(), identity: config.identity })
    return yield* elector
      .whileLeader(engine.run)
      .pipe(Effect.tapError(() => Effect.sync(() => emit({ event: "lost", t: Date.now(), identity: config.identity }))))
  })

const config = JSON.parse(process.env.CARTOGRAPHER_ENGINE_HOST ?? "{}") as EngineHostConfig
// The heap settings `cartographer run` starts with, so that what is measured is what ships.
limitHeapGrowth()
const client = KubeClient.layerFromFile(config.kubeconfig, { userAgent: `cartographer-engine-host/${config.identity}` })
// Logs go to stderr: stdout is the event channel.
const logging = Layer.merge(
  Logger.layer([Logger.withConsoleError(Logger.formatJson)]),
  Layer.succeed(References.MinimumLogLevel, config.logLevel ?? "Warn"),
)

NodeRuntime.runMain(program(config).pipe(Effect.scoped, Effect.provide(client), Effect.provide(logging)))
