import { describe, expect, it } from "vitest"
import { pruneTargets } from "../src/index.js"
import { plan } from "../src/plan/planner.js"
import { decodeBase64 } from "../src/plan/secrets.js"
import { afterMigration, condition, container, envOf, find, has, inventory, nothing, settled, ws } from "./fixtures.js"

const server = "test-environment-orion-server"
const redis = "test-environment-orion-redis"
const services = "test-environment-orion-services"
const secret = "test-environment-environment-secrets"

describe("a single-replica server", () => {
  it("runs Prefect's background services itself, with no Redis, services Deployment or disruption budget", () => {
    const p = afterMigration(ws())
    expect(container(find(p, "Deployment", server)).args).not.toContain("--no-services")
    expect(has(p, "Deployment", redis)).toBe(false)
    expect(has(p, "Deployment", services)).toBe(false)
    expect(has(p, "PodDisruptionBudget", server)).toBe(false)
    expect(Object.keys(envOf(container(find(p, "Deployment", server))))).not.toContain("PREFECT_MESSAGING_BROKER")
  })
})

describe("several server replicas, as Prefect's self-hosting guide runs them", () => {
  const ha = ws({ controllerReplicas: 2 })

  it("serve the API only (--no-services), while one <ws>-orion-services pod runs `prefect server services start`", () => {
    const p = afterMigration(ha)
    expect(container(find(p, "Deployment", server)).args).toContain("--no-services")
    const background = find(p, "Deployment", services)
    expect(background.spec.replicas).toBe(1)
    // Never two at once: each service must run once.
    expect(background.spec.strategy).toEqual({ type: "Recreate" })
    expect(container(background).args).toEqual(["prefect", "server", "services", "start"])
    expect(container(background).image).toBe(container(find(p, "Deployment", server)).image)
    // The same Prefect configuration as the API replicas, Redis and database included.
    expect(container(background).env).toEqual(container(find(p, "Deployment", server)).env)
    expect(container(background).resources).toEqual({
      requests: { cpu: "250m", memory: "512Mi" },
      limits: { cpu: "1", memory: "1Gi" },
    })
  })

  it("hold the background services at 0 with the server while the first migration has not succeeded", () => {
    const p = plan(ha, nothing)
    expect(find(p, "Deployment", server).spec.replicas).toBe(0)
    expect(find(p, "Deployment", services).spec.replicas).toBe(0)
  })

  it("give the server a disruption budget that evicts one replica at a time", () => {
    expect(find(afterMigration(ha), "PodDisruptionBudget", server).spec).toEqual({
      maxUnavailable: 1,
      selector: {
        matchLabels: { "mlops.aigency.com/environment": "test-environment", "mlops.aigency.com/component": "server" },
      },
    })
  })

  it("get every multi-server setting of Prefect 3.9, the Redis password only from the Secret", () => {
    const env = envOf(container(find(afterMigration(ha), "Deployment", server)))
    const password = { secretKeyRef: { name: secret, key: "redis-password" } }
    expect(env).toMatchObject({
      PREFECT_MESSAGING_BROKER: "prefect_redis.messaging",
      PREFECT_MESSAGING_CACHE: "prefect_redis.messaging",
      PREFECT_SERVER_EVENTS_CAUSAL_ORDERING: "prefect_redis.ordering",
      PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE: "prefect_redis.lease_storage",
      PREFECT_SERVER_WORKER_CHANNEL_CLEANUP_QUEUE_STORAGE: "prefect_redis.cleanup_queue",
      PREFECT_REDIS_MESSAGING_HOST: redis,
      PREFECT_REDIS_MESSAGING_PORT: "6379",
      PREFECT_REDIS_MESSAGING_DB: "0",
      PREFECT_REDIS_MESSAGING_PASSWORD: password,
      // The cleanup queue does not fall back to the messaging settings: it would connect to localhost.
      PREFECT_REDIS_WORKER_CLEANUP_QUEUE_HOST: redis,
      PREFECT_REDIS_WORKER_CLEANUP_QUEUE_PORT: "6379",
      PREFECT_REDIS_WORKER_CLEANUP_QUEUE_DB: "0",
      PREFECT_REDIS_WORKER_CLEANUP_QUEUE_PASSWORD: password,
      // Kubernetes expands $(VAR) from a variable defined before it: the password never appears in the spec.
      PREFECT_SERVER_DOCKET_URL: `redis://:$(PREFECT_REDIS_MESSAGING_PASSWORD)@${redis}:6379/1`,
    })
    const names = (container(find(afterMigration(ha), "Deployment", server)).env ?? []).map((e) => e.name)
    expect(names.indexOf("PREFECT_REDIS_MESSAGING_PASSWORD")).toBeLessThan(names.indexOf("PREFECT_SERVER_DOCKET_URL"))
  })

  it("run Redis with a password created once in the Workspace's Secret, never written into a spec", () => {
    const p = afterMigration(ha)
    const stored = find(p, "Secret", secret).data["redis-password"]
    expect(decodeBase64(stored ?? "")).toBe("redis-p@ss")
    const redisContainer = container(find(p, "Deployment", redis))
    expect(redisContainer.args).toEqual(expect.arrayContaining(["--requirepass", "$(REDIS_PASSWORD)"]))
    expect(envOf(redisContainer)).toEqual({
      REDIS_PASSWORD: { secretKeyRef: { name: secret, key: "redis-password" } },
      REDISCLI_AUTH: { secretKeyRef: { name: secret, key: "redis-password" } },
    })
    expect(JSON.stringify(p.apply.filter((o) => o.kind !== "Secret"))).not.toContain("redis-p@ss")
    // Observed once, the password stays whatever is generated later.
    const again = plan(ha, { ...settled(ha), generatedSecrets: { apiAuthPassword: "x", redisPassword: "other" } })
    expect(find(again, "Secret", secret).data["redis-password"]).toBe(stored)
  })

  it("use an external Redis instead: its host, port, databases, user, TLS and password Secret, and no Redis of ours", () => {
    const external = ws({
      controllerReplicas: 3,
      redis: {
        external: {
          host: "redis.example.com",
          port: 6380,
          db: 2,
          docketDb: 3,
          username: "prefect",
          passwordSecretRef: { name: "redis-auth", key: "pw" },
          tls: true,
        },
      },
    })
    const p = afterMigration(external)
    expect(has(p, "Deployment", redis)).toBe(false)
    expect(has(p, "Service", redis)).toBe(false)
    expect(find(p, "Secret", secret).data["redis-password"]).toBeUndefined()
    const password = { secretKeyRef: { name: "redis-auth", key: "pw" } }
    expect(envOf(container(find(p, "Deployment", server)))).toMatchObject({
      PREFECT_REDIS_MESSAGING_HOST: "redis.example.com",
      PREFECT_REDIS_MESSAGING_PORT: "6380",
      PREFECT_REDIS_MESSAGING_DB: "2",
      PREFECT_REDIS_MESSAGING_USERNAME: "prefect",
      PREFECT_REDIS_MESSAGING_PASSWORD: password,
      PREFECT_REDIS_MESSAGING_SSL: "true",
      PREFECT_REDIS_WORKER_CLEANUP_QUEUE_HOST: "redis.example.com",
      PREFECT_REDIS_WORKER_CLEANUP_QUEUE_PASSWORD: password,
      PREFECT_REDIS_WORKER_CLEANUP_QUEUE_SSL: "true",
      PREFECT_SERVER_DOCKET_URL: "rediss://prefect:$(PREFECT_REDIS_MESSAGING_PASSWORD)@redis.example.com:6380/3",
    })
    const open = envOf(
      container(
        find(afterMigration(ws({ controllerReplicas: 2, redis: { external: { host: "r" } } })), "Deployment", server),
      ),
    )
    expect(open.PREFECT_SERVER_DOCKET_URL).toBe("redis://r:6379/1")
    expect(open.PREFECT_REDIS_MESSAGING_PASSWORD).toBeUndefined()
  })

  it("are Ready only once the background services run", () => {
    const world = settled(ha)
    expect(condition(plan(ha, world), "Ready")?.status).toBe("True")
    const stopped = { ...world, services: { ...world.services, readyReplicas: 0, availableReplicas: 0 } }
    expect(condition(plan(ha, stopped), "Ready")).toMatchObject({ status: "False", reason: "ServicesNotReady" })
  })

  it("lose Redis, the background services and the disruption budget when controllerReplicas drops back to 1", () => {
    const world = settled(ha)
    const before = plan(ha, world)
    const single = plan(ws({ controllerReplicas: 1 }), world)
    expect(
      pruneTargets(single.prune, inventory(before))
        .map((o) => `${o.kind}/${o.name}`)
        .sort(),
    ).toEqual([
      `Deployment/${redis}`,
      `Deployment/${services}`,
      `NetworkPolicy/${redis}`,
      `PodDisruptionBudget/${server}`,
      `Service/${redis}`,
    ])
    // The Secret keeps the Redis password: switching HA on again must not change it.
    expect(find(single, "Secret", secret).data["redis-password"]).toBe(
      find(before, "Secret", secret).data["redis-password"],
    )
  })
})
