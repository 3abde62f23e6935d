/**
 * The server's Prometheus metrics (`spec.workflows.server.metrics`): Prefect serves them at `<api>/metrics` on the
 * API's own port (behind basic auth when it is on), and the Service names a port for them (`http-metrics`) so that a
 * ServiceMonitor or a scrape config can select it.
 */
import type { PlanContext } from "./context.js"
import type { EnvVar, ServicePort } from "./kube.js"
import { metricsPort, metricsPortName, serverPortName } from "./serverPorts.js"

export const metricsEnabled = (ctx: PlanContext): boolean => ctx.workflows.server.metrics.enabled

export const metricsEnv = (ctx: PlanContext): ReadonlyArray<EnvVar> =>
  metricsEnabled(ctx) ? [{ name: "PREFECT_SERVER_METRICS_ENABLED", value: "true" }] : []

/** Prefect's older spelling of the setting. */
export const metricsEnvAliases = ["PREFECT_API_ENABLE_METRICS"]

export const metricsServicePorts = (ctx: PlanContext): ReadonlyArray<ServicePort> =>
  metricsEnabled(ctx) ? [{ name: metricsPortName, port: metricsPort, targetPort: serverPortName, protocol: "TCP" }] : []
