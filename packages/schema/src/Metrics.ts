/**
 * The Prefect server's Prometheus metrics (`PREFECT_SERVER_METRICS_ENABLED`): served at `<api>/metrics` on the API's
 * port, behind basic auth when it is on, and named as a port of its own on the server's Service for scrapers.
 */
import { Schema } from "effect"
import { withDefault } from "./fields.js"

export const Metrics = Schema.Struct({
  enabled: withDefault(
    Schema.Boolean,
    false,
    "Serve Prometheus metrics at `/api/metrics` (under the server's path) and add port `http-metrics` (9090, to " +
      "the same server port) to Service `<workspace>-orion-server`. Scrapers need the basic auth credentials when " +
      "`basicAuth` is on.",
  ),
}).annotate({ description: "Prometheus metrics of the Prefect server." })
export type Metrics = typeof Metrics.Type
