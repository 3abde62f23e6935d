// Chaos suites restart kube-apiserver, compact etcd and kill operators: each file gets a PRIVATE control plane
// (tier "api"), never the run's shared one, whose other suites must not feel the faults (and whose restart and
// compact methods live in the global-setup process, out of a worker's reach).
import { afterAll, beforeAll } from "vitest"
import { type BenchCluster, startBenchCluster } from "../../bench/support/benchCluster.js"
import type { EngineHostConfig } from "../../bench/support/engineHost.js"
import { type OperatorProcess, type StartOptions, startEngineHost } from "../../bench/support/operatorProcess.js"

/** The file's private control plane, started before its tests and stopped after them. */
export const usePrivateCluster = (): (() => BenchCluster) => {
  let cluster: BenchCluster | undefined
  beforeAll(async () => {
    cluster = await startBenchCluster()
  }, 300_000)
  afterAll(async () => {
    await cluster?.stop()
  })
  return () => {
    if (cluster === undefined) throw new Error("the private control plane is not started (use it inside a test)")
    return cluster
  }
}

/**
 * An operator process on `namespaces`: the engine host with the shipped RBAC, a one-hour resync (so that a test
 * passes through the watches, not through the safety net, unless it says otherwise), every reconcile and write
 * reported, and a 2 s progressing requeue instead of 30 s. The status a reconcile writes is planned before its own
 * writes (e.g. "Creating the migration Job" in the reconcile that creates it); the engine corrects it on the next
 * reconcile, which the progressing requeue guarantees when no watch event brings one sooner. A short requeue keeps
 * `waitSettled`, which waits for that reconcile, short.
 */
export const startOperator = (
  cluster: BenchCluster,
  config: Partial<EngineHostConfig> & { readonly identity: string; readonly namespaces: ReadonlyArray<string> },
  options: StartOptions = {},
): Promise<OperatorProcess> =>
  startEngineHost(
    {
      kubeconfig: cluster.operator.kubeconfigPath,
      concurrency: 4,
      resyncPeriodMs: 3_600_000,
      progressingRequeueMs: 2_000,
      reportReconciles: true,
      ...config,
      faults: { reportWrites: true, ...config.faults },
    },
    options,
  )

/**
 * Merge-patches a Workspace's `spec.workflows` (idempotent), retrying what a just-restarted or overloaded API server
 * may answer (no answer, 429, 5xx): the test's own writes are not what is under test.
 */
export const patchWorkflows = async (
  cluster: BenchCluster,
  namespace: string,
  name: string,
  workflows: Record<string, unknown>,
): Promise<void> => {
  let last = ""
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      const response = await cluster.api.send({
        method: "PATCH",
        path: `/apis/mlops.aigency.com/v1alpha1/namespaces/${namespace}/workspaces/${name}`,
        body: { spec: { workflows } },
        contentType: "application/merge-patch+json",
        timeoutMs: 15_000,
      })
      if (response.status < 300) return
      last = `HTTP ${response.status} ${response.body.slice(0, 200)}`
      if (response.status !== 429 && response.status < 500) break
    } catch (error) {
      last = error instanceof Error ? error.message : String(error)
    }
    await sleep(500 * attempt)
  }
  throw new Error(`patch Workspace ${namespace}/${name}: ${last}`)
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
