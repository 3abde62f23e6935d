/**
 * Labels of managed objects (docs/architecture.md, "The planner's conventions"): the original Cartographer's
 * `mlops.aigency.com/*` labels, so that existing selectors and dashboards keep working, plus the recommended
 * `app.kubernetes.io/*` set.
 *
 * Selectors use only the `mlops.aigency.com/{environment,component,pool}` subset: a Deployment's selector is
 * immutable, so it must never include anything that could change.
 */

import type { PlanContext } from "./context.js"
import type { Labels } from "./kube.js"

export const labelKeys = {
  environment: "mlops.aigency.com/environment",
  component: "mlops.aigency.com/component",
  pool: "mlops.aigency.com/pool",
  /** Only on pool RBAC, which may live in another namespace: tells apart same-named Workspaces of two namespaces. */
  workspaceNamespace: "mlops.aigency.com/workspace-namespace",
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  appComponent: "app.kubernetes.io/component",
  partOf: "app.kubernetes.io/part-of",
  managedBy: "app.kubernetes.io/managed-by",
} as const

export const managedBy = "cartographer"

/** The value of `mlops.aigency.com/component` (and `app.kubernetes.io/component`). */
export type Component =
  | "secrets"
  | "database"
  | "server"
  | "services"
  | "migration"
  | "backup"
  | "restore"
  | "redis"
  | "agent"

/** `app.kubernetes.io/name`: the software a component runs. */
const software: Record<Component, string> = {
  secrets: "prefect",
  database: "postgres",
  server: "prefect",
  services: "prefect",
  migration: "prefect",
  backup: "postgres",
  restore: "postgres",
  redis: "redis",
  agent: "prefect",
}

/** The labels that select a component's pods (and that its pods carry). */
export const selectorLabels = (ctx: PlanContext, component: Component, pool?: string): Labels =>
  pool === undefined
    ? { [labelKeys.environment]: ctx.name, [labelKeys.component]: component }
    : { [labelKeys.environment]: ctx.name, [labelKeys.component]: component, [labelKeys.pool]: pool }

/** Every label of a child object (and of its pods). */
export const labels = (ctx: PlanContext, component: Component, pool?: string): Labels => ({
  ...selectorLabels(ctx, component, pool),
  [labelKeys.name]: software[component],
  [labelKeys.instance]: ctx.name,
  [labelKeys.appComponent]: component,
  [labelKeys.partOf]: "prefect",
  [labelKeys.managedBy]: managedBy,
})

/** What every object of this Workspace in its namespace carries: the base of prune selectors. */
export const ownershipLabels = (ctx: PlanContext): Labels => ({
  [labelKeys.environment]: ctx.name,
  [labelKeys.managedBy]: managedBy,
})
