/**
 * What the operator observed of a Workspace, written through the `/status` subresource.
 * Conditions follow `metav1.Condition` (Kubernetes API conventions), so generic tooling (`kubectl wait`) works.
 */
import { Schema } from "effect"
import { LastBackup } from "./Backup.js"

export const ConditionType = Schema.Literals(["Ready", "Progressing", "Degraded"]).annotate({
  description:
    "Ready: the server answers and every pool has its workers. Progressing: a rollout or migration is under way. " +
    "Degraded: something needs attention (the reason says what).",
})
export type ConditionType = typeof ConditionType.Type

export const ConditionStatus = Schema.Literals(["True", "False", "Unknown"])
export type ConditionStatus = typeof ConditionStatus.Type

export const Condition = Schema.Struct({
  type: ConditionType,
  status: ConditionStatus.annotate({ description: "True, False or Unknown." }),
  reason: Schema.String.check(
    Schema.isMinLength(1),
    Schema.isMaxLength(1024),
    Schema.isPattern(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/u, { message: "must be a CamelCase reason" }),
  ).annotate({ description: "Why the condition has this status, in one CamelCase word." }),
  message: Schema.String.check(Schema.isMaxLength(32768)).annotate({ description: "Details for humans." }),
  lastTransitionTime: Schema.String.check(
    Schema.isPattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/u, {
      message: "must be an RFC 3339 date-time",
    }),
  ).annotate({ description: "When the status last changed (RFC 3339).", format: "date-time" }),
  observedGeneration: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "The Workspace generation the condition was computed from.",
    }),
  ),
}).annotate({ description: "A Kubernetes condition." })
export type Condition = typeof Condition.Type

export const PoolStatus = Schema.Struct({
  name: Schema.String.annotate({ description: "Pool name." }),
  replicas: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "Desired workers." }),
  readyReplicas: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "Ready workers." }),
}).annotate({ description: "Observed state of one worker pool." })
export type PoolStatus = typeof PoolStatus.Type

export const WorkspaceStatus = Schema.Struct({
  observedGeneration: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "The Workspace generation last acted on.",
    }),
  ),
  conditions: Schema.optionalKey(Schema.Array(Condition).annotate({ description: "Ready, Progressing and Degraded." })),
  serverUrl: Schema.optionalKey(
    Schema.String.annotate({ description: "In-cluster URL of the Prefect API (`PREFECT_API_URL` for clients)." }),
  ),
  pools: Schema.optionalKey(Schema.Array(PoolStatus).annotate({ description: "Workers per pool." })),
  lastBackup: Schema.optionalKey(LastBackup),
}).annotate({ description: "Observed state, written by the operator." })
export type WorkspaceStatus = typeof WorkspaceStatus.Type
