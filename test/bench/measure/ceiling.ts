// The API server's own write ceiling for the operator's workload: a bare client (node's https, keep-alive, nothing
// else) server-side applies exactly the objects the planner produces for N Workspaces, plus each status, with the
// operator's concurrency: `concurrency` workers, each taking the next Workspace and applying its children in plan
// order, then its status — the shape of the operator's reconciles, without the operator.
import { nothingObserved } from "@cartographer/reconciler"
import { plan } from "@cartographer/reconciler/testing"
import { adminUser, type ControlPlane, readAudit } from "@cartographer/test/harness"
import { decodeLive } from "../support/benchWorkspaces.js"
import { type CpuSplit, cpuStopwatch } from "../support/cpu.js"
import { objectPath } from "../support/objectPaths.js"
import { mapConcurrently, type RawApi } from "../support/rawApi.js"
import { type ServerView, serverView } from "../support/serverView.js"

export interface CeilingResult {
  readonly workspaces: number
  readonly concurrency: number
  /** Children applied + statuses written. */
  readonly writes: number
  readonly seconds: number
  readonly writesPerSecond: number
  /** Per-request latency as the client saw it. */
  readonly latencyMs: { readonly p50: number; readonly p99: number }
  /** CPU seconds spent meanwhile by kube-apiserver, etcd and the bare client. */
  readonly cpu: CpuSplit
  readonly server: ServerView
}

export const planInputs = {
  now: "2025-01-01T00:00:00Z",
  generatedPassword: "bench-password",
  generatedSecrets: { apiAuthPassword: "bench-auth", redisPassword: "bench-redis" },
} as const

/** What the planner applies for a live Workspace that has nothing yet: its children, then its status. */
export const firstPlan = (live: unknown) => {
  const workspace = decodeLive(live)
  const p = plan(workspace, nothingObserved(planInputs))
  return { workspace, apply: p.apply, status: p.status }
}

/**
 * The nearest-rank quantile of sorted samples: the smallest sample with at least `q` of them at or below it (the p99
 * of 100 samples is the 99th, not the largest; reports list the slowest samples beside it).
 */
export const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number)

const apply = async (api: RawApi, path: string, body: unknown): Promise<void> => {
  const response = await api.send({
    method: "PATCH",
    path,
    query: { fieldManager: "bench-ceiling", force: "true" },
    body,
    contentType: "application/apply-patch+yaml",
  })
  if (response.status >= 300) throw new Error(`apply ${path}: HTTP ${response.status} ${response.body.slice(0, 300)}`)
}

export const measureCeiling = async (
  api: RawApi,
  controlPlane: ControlPlane,
  liveWorkspaces: ReadonlyArray<unknown>,
  concurrency: number,
): Promise<CeilingResult> => {
  const plans = liveWorkspaces.map(firstPlan)
  const namespace = plans[0]?.workspace.metadata.namespace
  const latencies: Array<number> = []
  const timed = async (path: string, body: unknown) => {
    const start = performance.now()
    await apply(api, path, body)
    latencies.push(performance.now() - start)
  }
  const cpu = await cpuStopwatch(controlPlane)
  const since = new Date()
  const start = performance.now()
  await mapConcurrently(plans, concurrency, async ({ workspace, apply: objects, status }) => {
    for (const object of objects) await timed(objectPath(object), object)
    const { name, namespace } = workspace.metadata
    await timed(objectPath({ kind: "Workspace", metadata: { name, namespace } }, "status"), {
      apiVersion: workspace.apiVersion,
      kind: workspace.kind,
      metadata: { name, namespace },
      status,
    })
  })
  const seconds = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  return {
    workspaces: plans.length,
    concurrency,
    writes: latencies.length,
    seconds,
    writesPerSecond: latencies.length / seconds,
    latencyMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) },
    cpu: await cpu.elapsed(),
    server: serverView(
      await readAudit(controlPlane.auditLogPath, {
        mutating: true,
        user: adminUser,
        since,
        where: (e) => e.objectRef?.namespace === namespace,
      }),
    ),
  }
}
