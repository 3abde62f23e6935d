// "Converged" as the chaos suites judge it, from the API server and independently of the operator's memory:
//
// - every Workspace has a status for its current generation, and exactly the children its plan names (none
//   missing, none left over: a lost update or a missed deletion shows up here);
// - a fixpoint: a fresh operator process (cold caches, no faults) reconciles every Workspace once and writes
//   nothing, i.e. every live child already holds what the planner wants and every status is current.
import { managedKindNames, optionalKinds } from "@cartographer/reconciler"
import { labelKeys } from "@cartographer/reconciler/testing"
import { type AuditEvent, auditSentinel, mutatingVerbs, pollUntil } from "@cartographer/test/harness"
import { firstPlan } from "../../bench/measure/ceiling.js"
import { auditTail, auditTime } from "../../bench/support/auditTail.js"
import type { BenchCluster } from "../../bench/support/benchCluster.js"
import { collectionPath } from "../../bench/support/objectPaths.js"
import { eventOf, type OperatorProcess, startEngineHost } from "../../bench/support/operatorProcess.js"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface LiveObject {
  readonly kind?: string
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly generation?: number
    readonly labels?: Readonly<Record<string, string>>
    readonly deletionTimestamp?: string
  }
  readonly spec?: unknown
  readonly status?: { readonly observedGeneration?: number; readonly conditions?: ReadonlyArray<unknown> }
}

export const list = async (cluster: BenchCluster, kind: string, namespace: string): Promise<Array<LiveObject>> => {
  const response = await cluster.api.send({ method: "GET", path: collectionPath(kind, namespace) })
  // A kind whose CRD is not installed (the Gateway API's HTTPRoute) has no objects.
  if (response.status === 404 && kind in optionalKinds) return []
  if (response.status !== 200) throw new Error(`list ${kind}: HTTP ${response.status} ${response.body.slice(0, 200)}`)
  return (JSON.parse(response.body) as { items: Array<LiveObject> }).items.map((item) => ({ ...item, kind }))
}

/** What is not converged yet, one line per problem; empty when converged. */
export const divergence = async (cluster: BenchCluster, namespace: string): Promise<ReadonlyArray<string>> => {
  const problems: Array<string> = []
  const workspaces = await list(cluster, "Workspace", namespace)
  const expected = new Set<string>()
  for (const ws of workspaces) {
    if (ws.metadata.deletionTimestamp !== undefined) continue
    const { generation } = ws.metadata
    if (ws.status?.conditions === undefined || ws.status.conditions.length === 0)
      problems.push(`${ws.metadata.name}: no status conditions`)
    else if (generation !== undefined && ws.status.observedGeneration !== generation)
      problems.push(`${ws.metadata.name}: status for generation ${ws.status.observedGeneration}, spec is ${generation}`)
    for (const child of firstPlan(ws).apply) expected.add(`${child.kind}/${child.metadata.name}`)
  }
  const present = new Set<string>()
  for (const kind of managedKindNames) {
    for (const child of await list(cluster, kind, namespace)) {
      if (child.metadata.labels?.[labelKeys.managedBy] !== "cartographer") continue
      if (child.metadata.deletionTimestamp !== undefined) continue
      present.add(`${kind}/${child.metadata.name}`)
    }
  }
  for (const name of expected) if (!present.has(name)) problems.push(`missing ${name}`)
  // Secrets and volumes are never pruned (they hold data), so they may outlive their Workspace or pool.
  for (const name of present)
    if (!expected.has(name) && !/^(Secret|PersistentVolumeClaim)\//u.test(name)) problems.push(`left over ${name}`)
  return problems
}

/**
 * Polls until `divergence` is empty; rejects with the remaining problems after `timeoutMs`, and with what `operator`
 * (when given) reported and logged about the Workspaces concerned.
 */
export const waitConverged = async (
  cluster: BenchCluster,
  namespace: string,
  timeoutMs: number,
  operator?: OperatorProcess,
): Promise<void> => {
  let last: ReadonlyArray<string> = []
  const story = () => {
    const names = new Set(last.flatMap((p) => /(ws-\d+)/u.exec(p)?.[1] ?? []))
    const about =
      operator === undefined
        ? ""
        : `\nthe operator (${operator.running() ? "running" : "exited"}) about them:\n` +
          [...names]
            .slice(0, 5)
            .map((name) => {
              const key = `${namespace}/${name}`
              const results = operator.events.flatMap((e) =>
                e.event === "reconciled" && e.key === key
                  ? [`${new Date(e.t).toISOString().slice(11, 23)} ${e.result}`]
                  : [],
              )
              const logs = operator
                .stderrTail(2000)
                .split("\n")
                .filter((line) => line.includes(name))
                .slice(-5)
              return `${key}: reconciles ${results.slice(-8).join(", ") || "none"}\n${logs.join("\n")}`
            })
            .join("\n")
    return `${last.length} problems:\n${last.slice(0, 30).join("\n")}${about}`
  }
  await pollUntil(
    `${namespace} converged`,
    async () => {
      last = await divergence(cluster, namespace).catch((error: unknown) => [String(error)])
      return last.length === 0
    },
    { timeoutMs, intervalMs: 500, describe: story },
  )
}

/** Whether an audit event is a write by the engine host started as `identity`, received at `since` (ms) or later. */
export const isWriteBy =
  (identity: string, since: number) =>
  (e: AuditEvent): boolean =>
    mutatingVerbs.has(e.verb) &&
    e.userAgent?.includes(`/${identity}`) === true &&
    auditTime(e.requestReceivedTimestamp) >= since

/**
 * Starts a fresh operator on `namespace`, lets it reconcile every Workspace once (plus `settleMs`), and resolves with
 * the writes it made (expected: none). Stops it afterwards.
 */
export const fixpointWrites = async (
  cluster: BenchCluster,
  namespace: string,
  options: { readonly identity?: string; readonly settleMs?: number; readonly timeoutMs?: number } = {},
): Promise<ReadonlyArray<string>> => {
  const identity = options.identity ?? `fixpoint-${Date.now().toString(36)}`
  const workspaces = (await list(cluster, "Workspace", namespace)).filter((w) => !w.metadata.deletionTimestamp)
  const statusBefore = new Map(workspaces.map((w) => [w.metadata.name, JSON.stringify(w.status)]))
  const tail = auditTail(cluster.controlPlane.auditLogPath, { fromEnd: true })
  await tail.read()
  const host = await startEngineHost({
    kubeconfig: cluster.operator.kubeconfigPath,
    namespaces: [namespace],
    concurrency: 4,
    resyncPeriodMs: 3_600_000,
    identity,
    reportReconciles: true,
  })
  try {
    await host.waitFor(eventOf("synced"), 60_000)
    const keys = new Set(workspaces.map((w) => `${namespace}/${w.metadata.name}`))
    await pollUntil(
      "the fixpoint check reconciled every Workspace",
      async () => {
        const done = new Set(host.events.flatMap((e) => (e.event === "reconciled" ? [e.key] : [])))
        return [...keys].every((k) => done.has(k))
      },
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 100 },
    )
    // A window for what the reconciles set off (a watch echo, a background Event write) to happen, if it does.
    await sleep(options.settleMs ?? 1_000)
  } finally {
    await host.stop()
  }
  // The log holds every write the host made before `stop`.
  await auditSentinel(cluster.controlPlane.auditLogPath, ({ path }) => cluster.api.send({ method: "GET", path }))
  const since = host.startedAt
  const writes = (await tail.read()).filter(isWriteBy(identity, since))
  // For a status write, say what changed: that is the state the previous operator left behind.
  const after = new Map(
    (await list(cluster, "Workspace", namespace)).map((w) => [w.metadata.name, JSON.stringify(w.status)]),
  )
  return writes.map((e) => {
    const what = `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`
    const name = e.objectRef?.name ?? ""
    return e.objectRef?.subresource === "status" ? `${what}: ${statusBefore.get(name)} -> ${after.get(name)}` : what
  })
}

/**
 * Waits until `operator` (started with `faults.reportWrites` and `reportReconciles`) is at its own fixpoint for every
 * Workspace of `namespace`: the last reconcile of each one wrote nothing and did not fail. `waitConverged` alone can
 * return while a Workspace's status is still the one planned before its reconcile's own writes (the engine writes
 * the status from the view it planned with, and corrects it on the next reconcile), so a quiet period is not enough:
 * what counts is a reconcile that ran after the last write and found nothing to do.
 */
export const waitSettled = async (
  cluster: BenchCluster,
  namespace: string,
  operator: OperatorProcess,
  timeoutMs = 60_000,
): Promise<void> => {
  const keys = (await list(cluster, "Workspace", namespace))
    .filter((w) => w.metadata.deletionTimestamp === undefined)
    .map((w) => `${namespace}/${w.metadata.name}`)
  let unsettled: ReadonlyArray<string> = []
  let lastRun = new Map<string, { readonly wrote: boolean; readonly result: string }>()
  await pollUntil(
    `the operator settled on ${namespace}`,
    async () => {
      // Runs of one Workspace never overlap, and each run prints its writes before its `reconciled` line.
      const writing = new Set<string>()
      lastRun = new Map()
      for (const e of operator.events) {
        if (e.event === "write") writing.add(e.write.key)
        else if (e.event === "reconciled") {
          lastRun.set(e.key, { wrote: writing.has(e.key), result: e.result })
          writing.delete(e.key)
        }
      }
      unsettled = keys.filter((key) => {
        const run = lastRun.get(key)
        return run === undefined || run.wrote || run.result === "error"
      })
      return unsettled.length === 0
    },
    {
      timeoutMs,
      intervalMs: 250,
      abort: () => (operator.running() ? undefined : "the operator exited"),
      describe: () =>
        `${unsettled.length} Workspaces whose last reconcile wrote or failed:\n` +
        unsettled
          .slice(0, 10)
          .map((key) => `${key}: ${JSON.stringify(lastRun.get(key) ?? "never reconciled")}`)
          .join("\n"),
    },
  )
}
