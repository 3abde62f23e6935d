/**
 * NetworkPolicies of the data stores (when `networkPolicy.enabled`): Postgres admits only the server's pods, the
 * background services' and the migration, backup and restore Jobs'; Redis only the server's and the background services'. Workers reach only the server's API, never a data store. Nothing else is
 * restricted, so enabling this cannot cut the UI or the workers off.
 */

import { metadata, type PlanContext } from "./context.js"
import type { NetworkPolicy } from "./kube.js"
import { type Component, labels, selectorLabels } from "./labels.js"
import { databaseName, redisName } from "./names.js"
import { redisPort } from "./redis.js"
import { databasePort } from "./secrets.js"

const admitOnly = (
  ctx: PlanContext,
  name: string,
  target: Component,
  port: number,
  from: ReadonlyArray<Component>,
): NetworkPolicy => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: metadata(ctx, name, labels(ctx, target)),
  spec: {
    podSelector: { matchLabels: selectorLabels(ctx, target) },
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: from.map((component) => ({ podSelector: { matchLabels: selectorLabels(ctx, component) } })),
        ports: [{ protocol: "TCP", port }],
      },
    ],
  },
})

export const planDatabaseNetworkPolicy = (ctx: PlanContext): NetworkPolicy =>
  admitOnly(ctx, databaseName(ctx), "database", databasePort, ["server", "services", "migration", "backup", "restore"])

export const planRedisNetworkPolicy = (ctx: PlanContext): NetworkPolicy =>
  admitOnly(ctx, redisName(ctx), "redis", redisPort, ["server", "services"])
