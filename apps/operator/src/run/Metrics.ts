/**
 * Prometheus metrics under controller-runtime's names, so that dashboards and alerts written for kubebuilder
 * operators work unchanged: reconcile totals by result, errors, the reconcile-time histogram, work-queue depth, adds
 * and retries, leader status, and the process metrics of prom-client's default collectors
 * (`process_resident_memory_bytes`, `process_cpu_seconds_total`, …).
 *
 * The engine reports through plain synchronous callbacks (`EngineObserver`), which feed prom-client directly. The
 * watch streams of `@cartographer/k8s` count lists, 410 relists, failures and synthesized deletions as Effect
 * metrics (`cartographer_k8s_watch_*{kind}`); a scrape appends them in the same text format.
 */
import { Watch } from "@cartographer/k8s"
import type { Engine } from "@cartographer/reconciler"
import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"

/** controller-runtime's `controller` label for the Workspace controller, and its work queue's `name`. */
export const controllerName = "workspace"

/** controller-runtime's reconcile-time buckets (seconds). */
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2,
  2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
]

/** controller-runtime's `result` label values. */
const resultLabel = {
  success: "success",
  error: "error",
  requeue: "requeue_after",
  terminal: "error",
} as const satisfies Record<Engine.ReconcileResult, string>

export interface OperatorMetrics {
  readonly registry: Registry
  readonly reconciled: (result: Engine.ReconcileResult, seconds: number) => void
  readonly queueAdd: () => void
  readonly queueRetry: () => void
  readonly queueDepth: (depth: number) => void
  /** Present when leader election is on. */
  readonly leader: (isLeader: boolean) => void
  /** The body of `/metrics` and its content type. */
  readonly scrape: Effect.Effect<{ readonly body: string; readonly contentType: string }>
}

export const make = (options: {
  readonly concurrency: number
  /** The Lease name, when leader election is on (`leader_election_master_status{name}`). */
  readonly leaseName?: string | undefined
  /** The kinds the engine watches, whose watch-stream series exist from the start. */
  readonly watchedKinds?: ReadonlyArray<string> | undefined
}): OperatorMetrics => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const controller = { controller: controllerName }
  const queue = { name: controllerName, controller: controllerName }

  const controllerLabels = ["controller"]
  const queueLabels = ["name", "controller"]
  const counter = (name: string, help: string, labelNames: Array<string>) =>
    new Counter({ name, help, labelNames, registers })
  const gauge = (name: string, help: string, labelNames: Array<string>) =>
    new Gauge({ name, help, labelNames, registers })

  const reconcileTotal = counter(
    "controller_runtime_reconcile_total",
    "Total number of reconciliations per controller",
    [...controllerLabels, "result"],
  )
  const reconcileErrors = counter(
    "controller_runtime_reconcile_errors_total",
    "Total number of reconciliation errors per controller",
    controllerLabels,
  )
  const terminalErrors = counter(
    "controller_runtime_terminal_reconcile_errors_total",
    "Total number of terminal reconciliation errors per controller",
    controllerLabels,
  )
  const reconcileTime = new Histogram({
    name: "controller_runtime_reconcile_time_seconds",
    help: "Length of time per reconciliation per controller",
    labelNames: controllerLabels,
    buckets: reconcileBuckets,
    registers,
  })
  const maxConcurrent = gauge(
    "controller_runtime_max_concurrent_reconciles",
    "Maximum number of concurrent reconciles per controller",
    controllerLabels,
  )
  const depth = gauge("workqueue_depth", "Current depth of workqueue", queueLabels)
  const adds = counter("workqueue_adds_total", "Total number of adds handled by workqueue", queueLabels)
  const retries = counter("workqueue_retries_total", "Total number of retries handled by workqueue", queueLabels)
  const leaderStatus =
    options.leaseName === undefined
      ? undefined
      : gauge(
          "leader_election_master_status",
          "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
          ["name"],
        )

  // Every series exists from the start (at 0), as controller-runtime pre-sets them: `rate()` then works at once.
  for (const result of new Set(Object.values(resultLabel))) reconcileTotal.inc({ ...controller, result }, 0)
  for (const result of ["requeue"]) reconcileTotal.inc({ ...controller, result }, 0)
  reconcileErrors.inc(controller, 0)
  terminalErrors.inc(controller, 0)
  reconcileTime.zero(controller)
  maxConcurrent.set(controller, options.concurrency)
  depth.set(queue, 0)
  adds.inc(queue, 0)
  retries.inc(queue, 0)
  if (leaderStatus !== undefined && options.leaseName !== undefined) leaderStatus.set({ name: options.leaseName }, 0)
  for (const kind of options.watchedKinds ?? []) {
    for (const counter of Object.values(Watch.metrics))
      Effect.runSync(Metric.update(Metric.withAttributes(counter, { kind }), 0))
  }

  return {
    registry,
    reconciled: (result, seconds) => {
      reconcileTotal.inc({ ...controller, result: resultLabel[result] })
      reconcileTime.observe(controller, seconds)
      if (result === "error" || result === "terminal") reconcileErrors.inc(controller)
      if (result === "terminal") terminalErrors.inc(controller)
    },
    queueAdd: () => adds.inc(queue),
    queueRetry: () => retries.inc(queue),
    queueDepth: (value) => depth.set(queue, value),
    leader: (isLeader) => {
      if (leaderStatus !== undefined && options.leaseName !== undefined) {
        leaderStatus.set({ name: options.leaseName }, isLeader ? 1 : 0)
      }
    },
    scrape: Effect.gen(function* () {
      const own = yield* Effect.promise(() => registry.metrics())
      const effectMetrics = yield* PrometheusMetrics.format()
      return { body: `${own}${effectMetrics}`, contentType: registry.contentType }
    }),
  }
}
