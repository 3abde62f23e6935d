/**
 * A pool's PodDisruptionBudget `<ws>-agent-<pool>`: a node drain or a cluster upgrade takes its workers down at most
 * `maxUnavailable` at a time, so the pool keeps polling its work queues. Planned for pools of more than one replica
 * and for autoscaled ones (whose size the autoscaler decides), unless the pool switches it off. Unhealthy workers are
 * always evictable: a pool that never became ready must not block a drain.
 */
import { type AgentPool, defaultMaxUnavailable } from "@cartographer/schema"
import { metadata, type PlanContext } from "./context.js"
import type { PodDisruptionBudget } from "./kube.js"
import { labels, selectorLabels } from "./labels.js"
import { agentName } from "./names.js"

/** The budget a pool gets, if any. */
export const poolDisruptionBudget = (ctx: PlanContext, pool: AgentPool): PodDisruptionBudget | undefined => {
  const budget = pool.podDisruptionBudget
  if (budget?.enabled === false) return undefined
  if (pool.autoscaled !== true && pool.replicas <= 1) return undefined
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: metadata(ctx, agentName(ctx, pool.name), labels(ctx, "agent", pool.name)),
    spec: {
      maxUnavailable: budget?.maxUnavailable ?? defaultMaxUnavailable,
      selector: { matchLabels: selectorLabels(ctx, "agent", pool.name) },
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  }
}
