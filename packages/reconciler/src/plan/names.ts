/**
 * Names of the children, from `@cartographer/schema`'s `Names` (one definition for the Schema's length rules and the
 * planner), plus the few the Schema does not need to know.
 */
import { Names } from "@cartographer/schema"
import type { PlanContext } from "./context.js"
import { apiPath } from "./paths.js"

export const secretName = (ctx: PlanContext): string => Names.secretName(ctx.name)
export const databaseName = (ctx: PlanContext): string => Names.databaseName(ctx.name)
export const databaseHeadlessName = (ctx: PlanContext): string => Names.databaseHeadlessName(ctx.name)
export const databaseVolumeName = (ctx: PlanContext): string => Names.databaseVolumeName(ctx.name)
export const serverName = (ctx: PlanContext): string => Names.serverName(ctx.name)
export const redisName = (ctx: PlanContext): string => Names.redisName(ctx.name)
export const servicesName = (ctx: PlanContext): string => Names.servicesName(ctx.name)
export const migrationJobName = (ctx: PlanContext, hash: string): string => Names.migrationJobName(ctx.name, hash)
export const backupJobName = (ctx: PlanContext, hash: string): string => Names.backupJobName(ctx.name, hash)
export const backupVolumeName = (ctx: PlanContext): string => Names.backupVolumeName(ctx.name)
export const restoreJobName = (ctx: PlanContext, hash: string): string => Names.restoreJobName(ctx.name, hash)
export const backupCronJobName = (ctx: PlanContext): string => Names.backupCronJobName(ctx.name)
export const agentName = (ctx: PlanContext, pool: string): string => Names.agentName(ctx.name, pool)

/**
 * Role and RoleBinding of a `kubernetes` pool. In the Workspace's namespace: `<ws>-agent-<pool>`, like its
 * ServiceAccount. In another (job) namespace the Workspace's namespace is appended, because two Workspaces of the same
 * name in two namespaces may send their Jobs to the same namespace. RBAC names are DNS subdomains (253 characters),
 * so the dot and the length are fine.
 */
export const rbacName = (ctx: PlanContext, pool: string, jobNamespace: string): string =>
  jobNamespace === ctx.namespace ? agentName(ctx, pool) : `${agentName(ctx, pool)}.${ctx.namespace}`

/** The in-cluster API URL of the server: what workers use as `PREFECT_API_URL`, and `status.serverUrl`. */
export const serverUrl = (ctx: PlanContext): string =>
  `http://${serverName(ctx)}.${ctx.namespace}.svc:4200${apiPath(ctx)}`
