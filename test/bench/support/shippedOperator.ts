// The operator as it ships, for the benchmark: `apps/operator/dist/cartographer.mjs` (what `npm run build` bundles),
// started as `cartographer run` with the arguments and environment of install/manager/deployment.yaml, and observed
// only from outside: its JSON log lines, /readyz and /metrics, and /proc/<pid>. What the benchmark sets beyond the
// Deployment are documented options of `run` (the kubeconfig, the namespaces, the resync period, loopback addresses
// for the probe and metrics servers) and, for the profiled run, Node's `--cpu-prof`.
import { fileURLToPath } from "node:url"
import { freePort, operatorRuntimeArgs, operatorRuntimeEnv, start } from "@cartographer/test/harness"
import { cpuSecondsOf } from "./cpu.js"
import { eventLog, type MemoryStats, memoryOf, outputLines, type ReconciledEvent } from "./processEvents.js"

const bundleScript = fileURLToPath(new URL("../../../apps/operator/scripts/bundle.mjs", import.meta.url))
let built: Promise<{ readonly path: string; readonly bytes: number }> | undefined

/**
 * Builds `apps/operator/dist/cartographer.mjs` as `npm run build` does (the same `bundle()`), with its source map
 * beside it (not linked; the bundle's text is the same either way) for the CPU profile. Once per process.
 */
export const shippedBundle = (): Promise<{ readonly path: string; readonly bytes: number }> => {
  built ??= (async () => {
    const { bundle } = (await import(bundleScript)) as {
      bundle: (o: { sourcemap: boolean }) => Promise<{ outfile: string; bytes: number }>
    }
    const { outfile, bytes } = await bundle({ sourcemap: true })
    return { path: outfile, bytes }
  })()
  return built
}

/** What the operator printed or showed, with the time this process saw it (`Date.now()`). */
export type OperatorEvent =
  | { readonly event: "synced"; readonly t: number }
  | { readonly event: "leading"; readonly t: number }
  | ReconciledEvent
  /** A warning or error line (a watch that failed and reconnects after backoff, a failed reconcile). */
  | { readonly event: "warning"; readonly t: number; readonly msg: string; readonly fields: Record<string, unknown> }
  /** The longest event-loop block since the previous scrape of /metrics (prom-client's lag monitor). */
  | { readonly event: "loop"; readonly t: number; readonly loopDelayMaxMs: number }

export interface ShippedOperatorConfig {
  readonly kubeconfig: string
  readonly namespaces: ReadonlyArray<string>
  readonly resyncPeriodSeconds: number
  /** `--concurrency`: Workspaces reconciled at the same time. */
  readonly concurrency: number
  /** `$POD_NAME`: the Lease holder's and the Events' name for this replica. */
  readonly podName: string
  /** `$POD_NAMESPACE`: where the Lease is. */
  readonly podNamespace: string
  /** Write a V8 CPU profile into this directory when the process exits (`node --cpu-prof`). */
  readonly cpuProfileDir?: string
}

export interface ShippedOperator {
  readonly pid: number
  readonly startedAt: number
  readonly events: ReadonlyArray<OperatorEvent>
  /** Resolves with the first event (past or future) that matches; rejects after `timeoutMs` or if the process ends. */
  waitFor(predicate: (event: OperatorEvent) => boolean, timeoutMs: number): Promise<OperatorEvent>
  memory(): Promise<MemoryStats | undefined>
  cpuSeconds(): Promise<number>
  /** `/metrics` as Prometheus text; records the event loop's longest block since the last scrape as an event. */
  metrics(): Promise<string>
  /** One sample of a /metrics series without labels (e.g. `nodejs_heap_size_used_bytes`). */
  metric(text: string, name: string): number | undefined
  running(): boolean
  logTail(lines?: number): string
  /** SIGTERM (clean shutdown: workers drained, Lease released), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export const isEvent =
  <K extends OperatorEvent["event"]>(kind: K) =>
  (event: OperatorEvent): event is Extract<OperatorEvent, { event: K }> =>
    event.event === kind

/** Replaces the Deployment's listen addresses (every interface, fixed ports) with free loopback ports. */
const withAddresses = (args: ReadonlyArray<string>, addresses: Readonly<Record<string, string>>) => {
  const out = args.filter((arg) => !Object.keys(addresses).some((flag) => arg.startsWith(`--${flag}`)))
  for (const [flag, address] of Object.entries(addresses)) out.push(`--${flag}=${address}`)
  return out
}

const metricValue = (text: string, name: string): number | undefined => {
  const match = new RegExp(`^${name}(?:\\{\\})? ([^ \\n]+)`, "mu").exec(text)
  return match?.[1] === undefined ? undefined : Number(match[1])
}

export const startShippedOperator = async (config: ShippedOperatorConfig): Promise<ShippedOperator> => {
  const { path } = await shippedBundle()
  const [metricsPort, healthPort] = [await freePort(), await freePort()]
  const args = [
    ...withAddresses(await operatorRuntimeArgs(), {
      "metrics-bind-address": `127.0.0.1:${metricsPort}`,
      "health-probe-bind-address": `127.0.0.1:${healthPort}`,
    }),
    `--kubeconfig=${config.kubeconfig}`,
    `--namespaces=${config.namespaces.join(",")}`,
    `--resync-period=${config.resyncPeriodSeconds}s`,
    `--concurrency=${config.concurrency}`,
  ]
  const nodeArgs = config.cpuProfileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${config.cpuProfileDir}`]
  const started = start(process.execPath, [...nodeArgs, path, ...args], {
    // Only what the Deployment's pod has: its literal environment and the downward-API variables.
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      ...(await operatorRuntimeEnv()),
      POD_NAME: config.podName,
      POD_NAMESPACE: config.podNamespace,
    },
  })
  const { child } = started
  const startedAt = Date.now()
  const output = outputLines((line) => {
    if (line.trim() === "") return
    let entry: Record<string, unknown>
    try {
      entry = JSON.parse(line) as Record<string, unknown>
    } catch {
      return
    }
    const t = Date.now()
    const msg = String(entry.msg ?? "")
    if (msg === "reconciled" && typeof entry.key === "string") {
      events.push({
        event: "reconciled",
        t,
        key: entry.key,
        result: String(entry.result),
        ms: Math.round(Number(entry.seconds) * 1000),
      })
    } else if (msg === "caches synced") events.push({ event: "synced", t })
    else if (msg.startsWith("leading")) events.push({ event: "leading", t })
    else if (entry.level === "warn" || entry.level === "error") events.push({ event: "warning", t, msg, fields: entry })
  })
  const logTail = output.tail
  const { events, wake, waitFor } = eventLog<OperatorEvent>({
    what: `cartographer run ${child.pid}`,
    running: started.running,
    status: () => String(started.status()),
    tail: logTail,
  })
  const onChunk = (chunk: string) => {
    output.write(chunk)
    wake()
  }
  child.stdout?.setEncoding("utf8").on("data", onChunk)
  child.stderr?.setEncoding("utf8").on("data", onChunk)
  void started.exited.then(wake)

  const metrics = async (): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    const text = await response.text()
    const lag = metricValue(text, "nodejs_eventloop_lag_max_seconds")
    if (lag !== undefined) events.push({ event: "loop", t: Date.now(), loopDelayMaxMs: lag * 1000 })
    return text
  }

  return {
    pid: started.pid,
    startedAt,
    events,
    waitFor,
    memory: () => memoryOf(started.pid),
    cpuSeconds: () => cpuSecondsOf(started.pid),
    metrics,
    metric: metricValue,
    running: started.running,
    logTail,
    stop: (graceMs) => started.stop(graceMs),
  }
}
