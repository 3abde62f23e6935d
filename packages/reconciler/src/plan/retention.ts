/**
 * Database retention through Prefect's vacuum service (`spec.workflows.database.retention`). The modes are Prefect
 * 3.9's: `events` (always: Prefect deletes events past `PREFECT_SERVER_EVENTS_RETENTION_PERIOD` by default),
 * `flow_runs` (finished top-level runs past the retention, with their task runs, logs and artifacts) and `orphans`
 * (logs and artifacts whose flow run is gone; `flow_runs` implies it, it is listed for clarity). Durations are written
 * in ISO 8601 (`P90D`): Prefect refuses a bare number of seconds for the events retention.
 *
 * The vacuum runs in the process that runs Prefect's background services: the server, or `<ws>-orion-services`.
 */
import type { PlanContext } from "./context.js"
import type { EnvVar } from "./kube.js"

/** On by default with the in-cluster Postgres only: an external database's data may have other owners. */
export const retentionEnabled = (ctx: PlanContext): boolean =>
  ctx.workflows.database.retention.enabled ?? ctx.workflows.database.external === undefined

export const retentionEnv = (ctx: PlanContext): ReadonlyArray<EnvVar> => {
  const { flowRunDays, eventDays } = ctx.workflows.database.retention
  const enabled = retentionEnabled(ctx)
  return [
    { name: "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED", value: enabled ? "events,flow_runs,orphans" : "events" },
    ...(enabled ? [{ name: "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD", value: `P${flowRunDays}D` }] : []),
    { name: "PREFECT_SERVER_EVENTS_RETENTION_PERIOD", value: `P${eventDays}D` },
  ]
}

/** Prefect's older spelling of a setting above. */
export const retentionEnvAliases = ["PREFECT_EVENTS_RETENTION_PERIOD"]
