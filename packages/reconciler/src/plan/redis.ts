/**
 * Redis for a multi-replica server (`controllerReplicas` > 1): the in-cluster Deployment + Service `<ws>-orion-redis`
 * (unless `redis.external`), and the settings that replace Prefect's in-memory messaging, cache, event ordering,
 * concurrency leases, Docket and worker-channel cleanup queue (docs/architecture.md, "Prefect facts"; prefect-operator
 * omits ordering, Docket and the cleanup queue, prefect-helm omits Docket and the cleanup queue). Every one of them
 * matters with several processes: Prefect validates none of them for `--no-services` replicas.
 *
 * The in-cluster Redis holds only transient coordination state, so it runs without persistence on an emptyDir. It
 * requires a password, created once in the Workspace's Secret; its NetworkPolicy admits only the server's and the
 * background services' pods.
 */

import { Defaults } from "@cartographer/schema"
import { metadata, type PlanContext } from "./context.js"
import type { Deployment, EnvVar, KeyRef, Probe, Service } from "./kube.js"
import { labels, selectorLabels } from "./labels.js"
import { redisName, secretName } from "./names.js"
import { podComponent } from "./placement.js"
import { containerSecurity, imageServiceUid, podFields, podTemplate, pullPolicy } from "./podSecurity.js"
import { defaultResources, resourcesOr } from "./resources.js"
import { secretKeys } from "./secrets.js"
import { planComponentService } from "./service.js"

export const redisPort = 6379
export const redisPortName = "tcp-redis"

/** Several server processes: Redis and the separate background services are needed. */
export const redisEnabled = (ctx: PlanContext): boolean => ctx.workflows.controllerReplicas > 1

/** Whether Cartographer runs the Redis (rather than the user's `redis.external`). */
export const inClusterRedis = (ctx: PlanContext): boolean =>
  redisEnabled(ctx) && ctx.workflows.redis?.external === undefined

interface RedisEndpoint {
  readonly host: string
  readonly port: number
  /** Messaging, cache, ordering, leases and the cleanup queue. */
  readonly db: number
  /** Docket, apart: neither may flush the other's keys (both use `prefect:` prefixes). */
  readonly docketDb: number
  readonly username: string | undefined
  readonly password: KeyRef | undefined
  readonly tls: boolean
}

const endpoint = (ctx: PlanContext): RedisEndpoint => {
  const external = ctx.workflows.redis?.external
  if (external !== undefined)
    return {
      host: external.host,
      port: external.port,
      db: external.db,
      docketDb: external.docketDb,
      username: external.username,
      password: external.passwordSecretRef,
      tls: external.tls,
    }
  return {
    host: redisName(ctx),
    port: redisPort,
    db: 0,
    docketDb: 1,
    username: undefined,
    password: { name: secretName(ctx), key: secretKeys.redisPassword },
    tls: false,
  }
}

/** prefect-redis's connection settings under one prefix (messaging, or the cleanup queue, which has its own). */
const connectionEnv = (prefix: string, redis: RedisEndpoint): Array<EnvVar> => [
  { name: `${prefix}_HOST`, value: redis.host },
  { name: `${prefix}_PORT`, value: String(redis.port) },
  { name: `${prefix}_DB`, value: String(redis.db) },
  ...(redis.username === undefined ? [] : [{ name: `${prefix}_USERNAME`, value: redis.username }]),
  ...(redis.password === undefined
    ? []
    : [
        {
          name: `${prefix}_PASSWORD`,
          valueFrom: { secretKeyRef: { name: redis.password.name, key: redis.password.key } },
        },
      ]),
  ...(redis.tls ? [{ name: `${prefix}_SSL`, value: "true" }] : []),
]

const messaging = "PREFECT_REDIS_MESSAGING"
const cleanupQueue = "PREFECT_REDIS_WORKER_CLEANUP_QUEUE"

/**
 * Docket takes only a URL. The password enters it through Kubernetes' `$(VAR)` expansion of the messaging password
 * defined before it, so that it never appears in the spec.
 */
const docketUrl = (redis: RedisEndpoint): string => {
  const user = redis.username === undefined ? "" : encodeURIComponent(redis.username)
  const credentials =
    redis.password === undefined ? (user === "" ? "" : `${user}@`) : `${user}:$(${messaging}_PASSWORD)@`
  return `${redis.tls ? "rediss" : "redis"}://${credentials}${redis.host}:${redis.port}/${redis.docketDb}`
}

/** The server's HA settings; empty for a single replica (Prefect's in-memory defaults are right there). */
export const redisEnv = (ctx: PlanContext): ReadonlyArray<EnvVar> => {
  if (!redisEnabled(ctx)) return []
  const redis = endpoint(ctx)
  return [
    { name: "PREFECT_MESSAGING_BROKER", value: "prefect_redis.messaging" },
    { name: "PREFECT_MESSAGING_CACHE", value: "prefect_redis.messaging" },
    { name: "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING", value: "prefect_redis.ordering" },
    { name: "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", value: "prefect_redis.lease_storage" },
    { name: "PREFECT_SERVER_WORKER_CHANNEL_CLEANUP_QUEUE_STORAGE", value: "prefect_redis.cleanup_queue" },
    ...connectionEnv(messaging, redis),
    ...connectionEnv(cleanupQueue, redis),
    { name: "PREFECT_SERVER_DOCKET_URL", value: docketUrl(redis) },
  ]
}

/** Other spellings Prefect reads for the settings above (a URL would win over the separate fields). */
export const redisEnvAliases = [
  "PREFECT_SERVER_EVENTS_MESSAGING_BROKER",
  "PREFECT_SERVER_EVENTS_MESSAGING_CACHE",
  `${messaging}_URL`,
  `${cleanupQueue}_URL`,
]

const probe = (check: Pick<Probe, "exec" | "tcpSocket">, failureThreshold: number): Probe => ({
  ...check,
  periodSeconds: 10,
  timeoutSeconds: 5,
  failureThreshold,
})

export const planRedisDeployment = (ctx: PlanContext): Deployment => {
  const component = podComponent(ctx, "redis")
  const password = { secretKeyRef: { name: secretName(ctx), key: secretKeys.redisPassword } }
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
            // protected mode off explicitly (the official image does so by default, other builds may not). The
            // password comes from the Secret through the kubelet's `$(VAR)` expansion: never in the spec.
            args: ["--save", "", "--appendonly", "no", "--protected-mode", "no", "--requirepass", "$(REDIS_PASSWORD)"],
            // REDISCLI_AUTH: redis-cli (the readiness probe) authenticates with it, without a command-line password; an
            // error reply (NOAUTH) is not PONG, so a wrong password is never Ready.
            env: [
              { name: "REDIS_PASSWORD", valueFrom: password },
              { name: "REDISCLI_AUTH", valueFrom: password },
            ],
            ports: [{ name: redisPortName, containerPort: redisPort, protocol: "TCP" }],
            resources: resourcesOr(ctx.workflows.redis?.resources, defaultResources.redis),
            volumeMounts: [{ name: "data", mountPath: "/data" }],
            securityContext: containerSecurity({ readOnlyRootFilesystem: true }),
            livenessProbe: probe({ tcpSocket: { port: redisPortName } }, 3),
            readinessProbe: probe({ exec: { command: ["sh", "-c", "redis-cli ping | grep -q PONG"] } }, 3),
          },
        ],
        volumes: [{ name: "data", emptyDir: {} }],
      }),
    },
  }
}

export const planRedisService = (ctx: PlanContext): Service =>
  planComponentService(ctx, redisName(ctx), "redis", { name: redisPortName, port: redisPort })
