// Drift repair, measured: children deleted one at a time by another client, each of another Workspace, and the
// latency from the deletion to the operator's re-apply of that very object, both read from the audit log's
// timestamps; with what the operator reported meanwhile, to explain a slow one.
import type { AuditEvent } from "@cartographer/test/harness"
import { auditTime } from "../support/auditTail.js"
import type { BenchCluster } from "../support/benchCluster.js"
import type { Mutations } from "../support/mutations.js"
import { objectPath, resourceOf } from "../support/objectPaths.js"
import type { ShippedOperator } from "../support/shippedOperator.js"
import { type firstPlan, quantile } from "./ceiling.js"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One drift repair, and what the operator did between the deletion and the re-apply. */
export interface Repair {
  readonly kind: string
  readonly name: string
  readonly ms: number
  /** Reconciles of the victim's Workspace in that window (result and duration), in order. */
  readonly runs: ReadonlyArray<{ readonly result: string; readonly ms: number }>
  /** Reconciles of other Workspaces in that window (a resync's burst, for one). */
  readonly others: number
  /** The longest event-loop block the operator reported over that window (/metrics, scraped every second). */
  readonly loopDelayMaxMs: number
  /** The operator's watches of the victim's kind that ended in that window or the second before (a reconnect). */
  readonly watchesEnded: number
}

export interface DriftResult {
  readonly deletions: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly unrepaired: number
  /** The three slowest repairs, with what the operator was doing meanwhile, to explain an outlier. */
  readonly slowest: ReadonlyArray<Repair>
}

/**
 * What the operator reported between a deletion (`from`) and its repair (`to`): reconciles of other Workspaces, event
 * loop blocks (its 1-second reports, up to one after), and the runs of the victim's Workspace up to the one that
 * repaired it (a run is reported when it ends, after its writes).
 */
const meanwhile = (
  host: ShippedOperator,
  writes: Mutations,
  victim: { readonly owner: string; readonly resource: string; readonly from: number; readonly to: number },
) => {
  const { owner, from, to } = victim
  const runs: Array<{ result: string; ms: number }> = []
  let others = 0
  let loopDelayMaxMs = 0
  let repairedBy = false
  for (const e of host.events) {
    if (e.event === "reconciled" && e.t >= from) {
      if (e.key === owner && !repairedBy) {
        runs.push({ result: e.result, ms: e.ms })
        repairedBy = e.t >= to
      } else if (e.key !== owner && e.t <= to) others++
    }
    if (e.event === "loop" && e.t >= from && e.t <= to + 1_000)
      loopDelayMaxMs = Math.max(loopDelayMaxMs, e.loopDelayMaxMs)
  }
  const watchesEnded = writes.watchesEnded.filter((e) => {
    const ended = auditTime(e.stageTimestamp)
    return e.objectRef?.resource === victim.resource && ended >= from - 1_000 && ended <= to
  }).length
  return { runs, others, loopDelayMaxMs, watchesEnded }
}

/**
 * Deletes children one at a time (round robin over the kinds that hold no data, each of another Workspace) and
 * waits for the operator's re-apply of that very object; latency between the two audit timestamps.
 */
export const measureDrift = async (
  cluster: BenchCluster,
  plans: ReadonlyArray<ReturnType<typeof firstPlan>>,
  writes: Mutations,
  deletions: number,
  host: ShippedOperator,
): Promise<DriftResult> => {
  // The event loop's longest block, once a second (prom-client's lag monitor), to explain a slow repair.
  const scraper = setInterval(() => void host.metrics().catch(() => ""), 1_000)
  try {
    return await deleteAndWait(cluster, plans, writes, deletions, host)
  } finally {
    clearInterval(scraper)
  }
}

/** measureDrift's work, with its arguments. */
const deleteAndWait = async (
  ...[cluster, plans, writes, deletions, host]: Parameters<typeof measureDrift>
): Promise<DriftResult> => {
  const victims = plans.flatMap((p, i) => {
    const candidates = p.apply.filter((o) => ["Deployment", "Service", "StatefulSet", "NetworkPolicy"].includes(o.kind))
    const chosen = candidates[i % Math.max(1, candidates.length)]
    const owner = `${p.workspace.metadata.namespace}/${p.workspace.metadata.name}`
    return chosen === undefined ? [] : [{ object: chosen, owner }]
  })
  const windows: Array<{ kind: string; name: string; owner: string; resource: string; from: number; to: number }> = []
  let unrepaired = 0
  for (let i = 0; i < deletions && victims.length > 0; i++) {
    const { object: victim, owner } = victims[i % victims.length] as (typeof victims)[number]
    const resource = resourceOf(victim.kind)
    const path = objectPath(victim)
    const response = await cluster.api.send({ method: "DELETE", path })
    if (response.status >= 300)
      throw new Error(`delete ${path}: HTTP ${response.status} ${response.body.slice(0, 200)}`)
    const deletedAt = Date.now()
    let repaired: AuditEvent | undefined
    while (repaired === undefined && Date.now() - deletedAt < 30_000) {
      await sleep(20)
      repaired = (await writes.poll()).find(
        (e) => e.objectRef?.resource === resource && e.objectRef.name === victim.metadata.name,
      )
    }
    if (repaired === undefined) {
      unrepaired++
      continue
    }
    const deletion = writes.others.findLast(
      (e) => e.verb === "delete" && e.objectRef?.resource === resource && e.objectRef.name === victim.metadata.name,
    )
    const from = deletion ? auditTime(deletion.stageTimestamp) : deletedAt
    const to = auditTime(repaired.stageTimestamp)
    windows.push({ kind: victim.kind, name: victim.metadata.name, owner, resource, from, to })
  }
  // The event loop is scraped once a second, and a run is logged when it ends: wait for what covers the last window
  // before reading them.
  await sleep(1_500)
  await writes.poll()
  const repairs: Array<Repair> = windows.map(({ kind, name, ...window }) => ({
    kind,
    name,
    ms: window.to - window.from,
    ...meanwhile(host, writes, window),
  }))
  const latencies = repairs.map((r) => r.ms).sort((x, y) => x - y)
  return {
    deletions: latencies.length + unrepaired,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    unrepaired,
    slowest: repairs.sort((x, y) => y.ms - x.ms).slice(0, 3),
  }
}
