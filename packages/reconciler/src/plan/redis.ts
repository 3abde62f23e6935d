/**
 * Redis for a multi-replica server (`controllerReplicas` > 1): Deployment + Service `<ws>-orion-redis`, and the
 * settings that replace Prefect's in-memory messaging, cache, event ordering, concurrency leases and Docket
 * (docs/architecture.md, "Prefect facts"; prefect-operator omits ordering and Docket, prefect-helm omits Docket).
 *
 * Redis here holds only transient coordination state, so it runs without persistence on an emptyDir; it has no
 * password, and the NetworkPolicy admits only the server's pods.
 */

import { Defaults } from "@cartographer/schema"
import { metadata, type PlanContext } from "./context.js"
import type { Deployment, EnvVar, Probe, Service } from "./kube.js"
import { labels, selectorLabels } from "./labels.js"
import { redisName } from "./names.js"
import { podComponent } from "./placement.js"
import { containerSecurity, imageServiceUid, podFields, podTemplate, pullPolicy } from "./podSecurity.js"
import { defaultResources, resourcesOr } from "./resources.js"
import { planComponentService } from "./service.js"

export const redisPort = 6379
export const redisPortName = "tcp-redis"
/** Messaging and Docket in separate logical databases, so neither can flush the other's keys. */
const messagingDb = 0
const docketDb = 1

export const redisEnabled = (ctx: PlanContext): boolean => ctx.workflows.controllerReplicas > 1

/** The server's HA settings; empty for a single replica (Prefect's in-memory defaults are right there). */
export const redisEnv = (ctx: PlanContext): ReadonlyArray<EnvVar> => {
  if (!redisEnabled(ctx)) return []
  const host = redisName(ctx)
  return [
    { name: "PREFECT_MESSAGING_BROKER", value: "prefect_redis.messaging" },
    { name: "PREFECT_MESSAGING_CACHE", value: "prefect_redis.messaging" },
    { name: "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING", value: "prefect_redis.ordering" },
    { name: "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", value: "prefect_redis.lease_storage" },
    { name: "PREFECT_REDIS_MESSAGING_HOST", value: host },
    { name: "PREFECT_REDIS_MESSAGING_PORT", value: String(redisPort) },
    { name: "PREFECT_REDIS_MESSAGING_DB", value: String(messagingDb) },
    { name: "PREFECT_SERVER_DOCKET_URL", value: `redis://${host}:${redisPort}/${docketDb}` },
  ]
}

const probe = (check: Pick<Probe, "exec" | "tcpSocket">, failureThreshold: number): Probe => ({
  ...check,
  periodSeconds: 10,
  timeoutSeconds: 5,
  failureThreshold,
})

export const planRedisDeployment = (ctx: PlanContext): Deployment => {
  const component = podComponent(ctx, "redis")
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(ctx, redisName(ctx), labels(ctx, "redis")),
    spec: {
      replicas: 1,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(ctx, "redis") },
      // One instance at a time: two would split the messaging state between them.
      strategy: { type: "Recreate" },
      template: podTemplate(ctx, component, {
        ...podFields(ctx, component, imageServiceUid, { group: true }),
        containers: [
          {
            name: "redis",
            image: ctx.workflows.redis?.image ?? Defaults.defaultRedisImage,
            imagePullPolicy: pullPolicy(ctx),
            // The image's entrypoint turns leading options into `redis-server <options>`. No snapshots, no AOF;
            // protected mode off explicitly (the official image does so by default, other builds may not).
            args: ["--save", "", "--appendonly", "no", "--protected-mode", "no"],
            ports: [{ name: redisPortName, containerPort: redisPort, protocol: "TCP" }],
            resources: resourcesOr(ctx.workflows.redis?.resources, defaultResources.redis),
            volumeMounts: [{ name: "data", mountPath: "/data" }],
            securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
            livenessProbe: probe({ tcpSocket: { port: redisPortName } }, 3),
            readinessProbe: probe({ exec: { command: ["redis-cli", "ping"] } }, 3),
          },
        ],
        volumes: [{ name: "data", emptyDir: {} }],
      }),
    },
  }
}

export const planRedisService = (ctx: PlanContext): Service =>
  planComponentService(ctx, redisName(ctx), "redis", { name: redisPortName, port: redisPort })
