/**
 * PodDisruptionBudgets: a node drain or a cluster upgrade evicts a component's pods at most `maxUnavailable` at a
 * time. With one replica a budget would block drains forever (or protect nothing), so there is none.
 *
 * - `<ws>-orion-server`, while the server has more than one replica: the API keeps answering.
 * - `<ws>-agent-<pool>`, for pools of more than one replica and autoscaled ones (whose size the autoscaler decides),
 *   unless the pool switches it off: the pool keeps polling its work queues. Unhealthy workers are always evictable:
 *   a pool that never became ready must not block a drain.
 */
import { type AgentPool, defaultMaxUnavailable } from "@cartographer/schema"
import { metadata, type PlanContext } from "./context.js"
import type { PodDisruptionBudget } from "./kube.js"
import { type Component, labels, selectorLabels } from "./labels.js"
import { agentName, serverName } from "./names.js"

const budget = (
  ctx: PlanContext,
  name: string,
  component: Component,
  pool: string | undefined,
  spec: Omit<PodDisruptionBudget["spec"], "selector">,
): PodDisruptionBudget => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: metadata(ctx, name, labels(ctx, component, pool)),
  spec: { ...spec, selector: { matchLabels: selectorLabels(ctx, component, pool) } },
})

export const planServerDisruptionBudget = (ctx: PlanContext): PodDisruptionBudget | undefined =>
  ctx.workflows.controllerReplicas > 1
    ? budget(ctx, serverName(ctx), "server", undefined, { maxUnavailable: 1 })
    : undefined

/** The budget a pool gets, if any. */
export const poolDisruptionBudget = (ctx: PlanContext, pool: AgentPool): PodDisruptionBudget | undefined => {
  const wanted = pool.podDisruptionBudget
  if (wanted?.enabled === false) return undefined
  if (pool.autoscaled !== true && pool.replicas <= 1) return undefined
  return budget(ctx, agentName(ctx, pool.name), "agent", pool.name, {
    maxUnavailable: wanted?.maxUnavailable ?? defaultMaxUnavailable,
    unhealthyPodEvictionPolicy: "AlwaysAllow",
  })
}
