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
import { metadata, type PlanContext } from "./context.js"
import type { Deployment, EnvVar } from "./kube.js"
import { labels, selectorLabels } from "./labels.js"
import type { ServerRevision } from "./migration.js"
import { envFromOf, withMounts, withVolumes } from "./mounts.js"
import { servicesName } from "./names.js"
import { podComponent } from "./placement.js"
import { containerSecurity, podTemplate, prefectHome, prefectPod, prefectScratch, pullPolicy } from "./podSecurity.js"
import { redisEnabled } from "./redis.js"
import { defaultResources, resourcesOr } from "./resources.js"

/** With several server replicas the background services run in a Deployment of their own. */
export const separateServices = redisEnabled

export interface ServicesDeploymentInput {
  readonly revision: ServerRevision
  /** 1, or 0 while the server waits for its first migration. */
  readonly replicas: number
  /** The server container's environment. */
  readonly env: ReadonlyArray<EnvVar>
}

export const planServicesDeployment = (ctx: PlanContext, input: ServicesDeploymentInput): Deployment => {
  const component = podComponent(ctx, "services")
  const { server } = ctx.workflows
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(ctx, servicesName(ctx), labels(ctx, "services")),
    spec: {
      replicas: input.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(ctx, "services") },
      strategy: { type: "Recreate" },
      template: podTemplate(ctx, component, {
        ...prefectPod(ctx, component),
        containers: [
          {
            name: "orion-services",
            image: input.revision.image,
            imagePullPolicy: pullPolicy(ctx),
            // Arguments only: the image's entrypoint (tini, EXTRA_PIP_PACKAGES) stays in place. In the foreground.
            args: ["prefect", "server", "services", "start"],
            workingDir: prefectHome,
            env: input.env,
            ...envFromOf(server),
            resources: resourcesOr(server.servicesResources, defaultResources.services),
            volumeMounts: withMounts(prefectScratch.mounts, server),
            securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
          },
        ],
        volumes: withVolumes(prefectScratch.volumes, server),
      }),
    },
  }
}
