/**
 * A Deployment of one Prefect server process: the API server (`server.ts`) or, beside several API replicas, the
 * background services (`services.ts`). Both run the server's revision (image and database) with the server's
 * environment, placement, pod metadata, `envFrom` and volumes, in the same hardened pod; what differs (the command,
 * the rollout, ports, probes, resources, the UI's build volume) is given by the caller.
 */
import { metadata, type PlanContext } from "./context.js"
import type { Container, Deployment, EnvVar, Volume, VolumeMount } from "./kube.js"
import { labels, selectorLabels } from "./labels.js"
import type { ServerRevision } from "./migration.js"
import { envFromOf, withMounts, withVolumes } from "./mounts.js"
import { podComponent } from "./placement.js"
import { containerSecurity, podTemplate, prefectHome, prefectPod, prefectScratch, pullPolicy } from "./podSecurity.js"

export interface ServerProcess {
  readonly component: "server" | "services"
  readonly name: string
  readonly annotations?: Readonly<Record<string, string>>
  readonly replicas: number
  readonly strategy: Deployment["spec"]["strategy"]
  readonly revision: ServerRevision
  readonly env: ReadonlyArray<EnvVar>
  readonly container: {
    readonly name: string
    /** Arguments only: the image's entrypoint (tini, EXTRA_PIP_PACKAGES) stays in place. */
    readonly args: ReadonlyArray<string>
    readonly ports?: Container["ports"]
    readonly resources: Container["resources"]
    readonly probes?: Pick<Container, "startupProbe" | "livenessProbe" | "readinessProbe">
  }
  /** Volumes of the process's own, after Prefect's scratch space and before the user's. */
  readonly volumes?: ReadonlyArray<{ readonly volume: Volume; readonly mount: VolumeMount }>
}

export const planServerProcessDeployment = (ctx: PlanContext, process: ServerProcess): Deployment => {
  const component = podComponent(ctx, process.component)
  const { server } = ctx.workflows
  const { container } = process
  const own = process.volumes ?? []
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(ctx, process.name, labels(ctx, process.component), {
      ...(process.annotations === undefined ? {} : { annotations: process.annotations }),
    }),
    spec: {
      replicas: process.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(ctx, process.component) },
      strategy: process.strategy,
      template: podTemplate(ctx, component, {
        ...prefectPod(ctx, component),
        containers: [
          {
            name: container.name,
            image: process.revision.image,
            imagePullPolicy: pullPolicy(ctx),
            args: container.args,
            workingDir: prefectHome,
            env: process.env,
            ...envFromOf(server),
            ...(container.ports === undefined ? {} : { ports: container.ports }),
            resources: container.resources,
            volumeMounts: withMounts([...prefectScratch.mounts, ...own.map((v) => v.mount)], server),
            securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
            ...container.probes,
          },
        ],
        volumes: withVolumes([...prefectScratch.volumes, ...own.map((v) => v.volume)], server),
      }),
    },
  }
}
