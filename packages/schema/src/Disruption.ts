/**
 * A pool's PodDisruptionBudget: with more than one worker (or an autoscaled pool), voluntary disruptions (node
 * drains, cluster upgrades) take them down at most `maxUnavailable` at a time, so the pool keeps polling.
 */
import { Effect, Schema } from "effect"

export const defaultMaxUnavailable = 1

export const PoolDisruptionBudget = Schema.Struct({
  enabled: Schema.withDecodingDefaultKey<Schema.Boolean>(Effect.succeed(true))(
    Schema.Boolean.annotate({
      default: true,
      description: "Create the budget when the pool has more than one replica or is autoscaled. Default true.",
    }),
  ),
  maxUnavailable: Schema.withDecodingDefaultKey<Schema.Int>(Effect.succeed(defaultMaxUnavailable))(
    Schema.Int.annotate({
      default: defaultMaxUnavailable,
      description: `Workers a drain may take down at once. Default ${defaultMaxUnavailable}.`,
    }).check(Schema.isGreaterThanOrEqualTo(1, { message: "must be 1 or more" })),
  ),
}).annotate({
  description:
    "The pool's PodDisruptionBudget `<workspace>-agent-<pool>` (maxUnavailable, unhealthy pods always evictable). " +
    "Created for pools of more than one replica and autoscaled pools unless `enabled: false`.",
})
export type PoolDisruptionBudget = typeof PoolDisruptionBudget.Type
