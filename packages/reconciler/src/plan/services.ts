/**
 * Prefect's background services apart from the API, as Prefect's self-hosting guide runs several API replicas: a
 * Deployment `<ws>-orion-services` of one pod running `prefect server services start` (the scheduler, late runs, the
 * event persister, triggers, the database vacuum, …) while every server replica runs `--no-services`. One process
 * only: each service must run once, so the Deployment is recreated rather than rolled (a rollout never runs two).
 *
 * It runs the server's revision (image and database, held with it while a migration is pending) with the server's
 * environment, Redis included, and the server's placement, pod metadata, `envFrom` and volumes. It opens no port, so
 * it has no probe: it stays up through a database outage and carries on once the database is back.
 */
import type { PlanContext } from "./context.js"
import type { Deployment, EnvVar } from "./kube.js"
import type { ServerRevision } from "./migration.js"
import { servicesName } from "./names.js"
import { redisEnabled } from "./redis.js"
import { defaultResources, resourcesOr } from "./resources.js"
import { planServerProcessDeployment } from "./serverProcess.js"

/** With several server replicas the background services run in a Deployment of their own. */
export const separateServices = redisEnabled

export interface ServicesDeploymentInput {
  readonly revision: ServerRevision
  /** 1, or 0 while the server waits for its first migration. */
  readonly replicas: number
  /** The server container's environment. */
  readonly env: ReadonlyArray<EnvVar>
}

export const planServicesDeployment = (ctx: PlanContext, input: ServicesDeploymentInput): Deployment =>
  planServerProcessDeployment(ctx, {
    component: "services",
    name: servicesName(ctx),
    replicas: input.replicas,
    strategy: { type: "Recreate" },
    revision: input.revision,
    env: input.env,
    container: {
      name: "orion-services",
      // In the foreground: the Deployment's one process.
      args: ["prefect", "server", "services", "start"],
      resources: resourcesOr(ctx.workflows.server.servicesResources, defaultResources.services),
    },
  })
