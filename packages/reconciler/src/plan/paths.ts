/**
 * Where the Prefect server serves its UI and API: under `/` by default, or under the path prefix its Ingress or
 * HTTPRoute routes (the Schema makes both agree). Prefect serves the prefix itself (`PREFECT_UI_SERVE_BASE`,
 * `PREFECT_SERVER_API_BASE_PATH`), so workers, probes and the UI all use it, inside the cluster too.
 */
import type { PlanContext } from "./context.js"

/** The path prefix without a trailing slash: `""` for `/`, else e.g. `/prefect`. */
export const serverPath = (ctx: PlanContext): string => {
  const { ingress, httpRoute } = ctx.workflows.server
  const path = ingress?.path ?? httpRoute?.path ?? "/"
  return path === "/" ? "" : path
}

/** The API's path: `/api`, or `<prefix>/api`. */
export const apiPath = (ctx: PlanContext): string => `${serverPath(ctx)}/api`
