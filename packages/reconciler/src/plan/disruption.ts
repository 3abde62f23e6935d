/**
 * A PodDisruptionBudget `<ws>-orion-server` while the server has more than one replica: a node drain or an upgrade
 * then evicts its pods one at a time, so the API keeps answering. With one replica a budget would block drains
 * forever (or protect nothing), so there is none.
 */
import { metadata, type PlanContext } from "./context.js"
import type { PodDisruptionBudget } from "./kube.js"
import { labels, selectorLabels } from "./labels.js"
import { serverName } from "./names.js"

export const planServerDisruptionBudget = (ctx: PlanContext): PodDisruptionBudget | undefined =>
  ctx.workflows.controllerReplicas > 1
    ? {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: metadata(ctx, serverName(ctx), labels(ctx, "server")),
        spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(ctx, "server") } },
      }
    : undefined
