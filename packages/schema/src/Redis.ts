/**
 * Redis for a multi-replica server (`controllerReplicas` > 1): the in-cluster one Cartographer runs (with a password
 * it creates once), or an external one. Prefect's messaging, cache, event ordering, concurrency leases, Docket and the
 * worker-channel cleanup queue all live there instead of in each server process's memory.
 */
import { Schema } from "effect"
import { fieldNotWith } from "./cel.js"
import * as Defaults from "./defaults.js"
import { Image, NonEmptyString, NonNegativeInt, secretKeyRef, withDefault } from "./fields.js"
import { Resources } from "./Resources.js"
import { placementFields } from "./Scheduling.js"

export const defaultRedisPort = 6379
export const defaultRedisDb = 0
export const defaultDocketDb = 1
export const defaultRedisPasswordKey = "redis-password"

const Port = Schema.Int.check(
  Schema.isGreaterThanOrEqualTo(1, { message: "must be a port number from 1 to 65535" }),
  Schema.isLessThanOrEqualTo(65535, { message: "must be a port number from 1 to 65535" }),
)

const Database = NonNegativeInt.check(Schema.isLessThanOrEqualTo(1000, { message: "must be at most 1000" }))

export const ExternalRedis = Schema.Struct({
  host: Schema.String.check(
    Schema.isMaxLength(253, { message: "must be at most 253 characters" }),
    Schema.isPattern(/^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/u, {
      message: "must be a host name or an IPv4 address, e.g. redis.example.com",
    }),
  ).annotate({ description: "Host name or IPv4 address of the Redis server." }),
  port: withDefault(Port, defaultRedisPort, "Port of the Redis server."),
  db: withDefault(
    Database,
    defaultRedisDb,
    "Logical database for Prefect's messaging, cache, ordering, leases and cleanup queue.",
  ),
  docketDb: withDefault(
    Database,
    defaultDocketDb,
    "Logical database for Prefect's Docket (its background task queue); must differ from `db`.",
  ),
  username: Schema.optionalKey(NonEmptyString).annotate({
    description: "Redis ACL user. Redis's `default` user when absent.",
  }),
  passwordSecretRef: Schema.optionalKey(
    secretKeyRef(defaultRedisPasswordKey, "Key holding the password.").annotate({
      description:
        "Secret holding the Redis password. It becomes part of Docket's Redis URL as it is, so it must not contain " +
        "characters reserved in URLs (@ : / ? # [ ] %). No password when absent.",
    }),
  ),
  tls: withDefault(Schema.Boolean, false, "Connect over TLS (`rediss://`)."),
}).annotate({
  description:
    "Use an existing Redis instead of the in-cluster one (for a managed or replicated Redis). Only read when " +
    "`controllerReplicas` > 1.",
})
export type ExternalRedis = typeof ExternalRedis.Type

export const RedisSpec = Schema.Struct({
  image: Schema.optionalKey(Image).annotate({ description: `Redis image. Default ${Defaults.defaultRedisImage}.` }),
  resources: Schema.optionalKey(Resources),
  external: Schema.optionalKey(ExternalRedis),
  ...placementFields("component"),
}).annotate({
  description:
    "Redis, used only when `controllerReplicas` > 1 (Prefect's HA messaging): in-cluster (`<workspace>-orion-redis`, " +
    "password in Secret `<workspace>-environment-secrets`, key `redis-password`), or `external`. Placement and pod " +
    "metadata apply to the in-cluster one.",
})
export type RedisSpec = typeof RedisSpec.Type

/** The fields of the in-cluster Redis, refused with `external` (their CEL twins sit on `redis`, see `crossField.ts`). */
export const inClusterOnlyRules = (["image", "resources"] as const).map((field) =>
  fieldNotWith<RedisSpec>({
    field,
    other: "external",
    reason: "is for the in-cluster Redis: remove it, or remove redis.external",
    fieldInMessage: false,
  }),
)

/** Cross-field rules, at paths relative to `spec.workflows.redis`. */
export const redisIssues = (redis: RedisSpec): Array<Schema.FilterIssue> => {
  const external = redis.external
  if (external === undefined) return []
  const issues: Array<Schema.FilterIssue> = inClusterOnlyRules.flatMap((rule) => rule.issue(redis) ?? [])
  if (external.db === external.docketDb)
    issues.push({
      path: ["external", "docketDb"],
      issue: `must differ from external.db (${external.db}): Docket and Prefect's messaging must not share a database`,
    })
  return issues
}
