/**
 * Database retention: Prefect's database vacuum service (`PREFECT_SERVER_SERVICES_DB_VACUUM_*`). Prefect itself only
 * deletes old events by default; with retention on it also deletes finished top-level flow runs past their retention
 * (with their task runs, logs and artifacts) and the logs and artifacts whose flow run no longer exists (`orphans`).
 */
import { Schema } from "effect"
import { withDefault } from "./fields.js"

export const defaultFlowRunRetentionDays = 90
export const defaultEventRetentionDays = 7

const Days = Schema.Int.check(
  Schema.isGreaterThanOrEqualTo(1, { message: "must be at least 1 day" }),
  Schema.isLessThanOrEqualTo(36500, { message: "must be at most 36500 days" }),
)

export const Retention = Schema.Struct({
  enabled: Schema.optionalKey(Schema.Boolean).annotate({
    description:
      "Delete finished flow runs older than `flowRunDays`, and orphaned logs and artifacts (Prefect's vacuum modes " +
      "`events,flow_runs,orphans`; off: `events` only). Default: on with the in-cluster Postgres, off with an " +
      "external database (whose data may have other owners).",
  }),
  flowRunDays: withDefault(
    Days,
    defaultFlowRunRetentionDays,
    "Days a finished top-level flow run is kept (with its task runs, logs and artifacts) before it is deleted.",
  ),
  eventDays: withDefault(
    Days,
    defaultEventRetentionDays,
    "Days events are kept (Prefect always deletes older events; `PREFECT_SERVER_EVENTS_RETENTION_PERIOD`).",
  ),
}).annotate({ description: "How long Prefect keeps flow runs and events in its database." })
export type Retention = typeof Retention.Type
