import { describe, expect, it } from "vitest"
import { pruneTargets } from "../src/index.js"
import { plan } from "../src/plan/planner.js"
import { afterMigration, condition, container, envOf, find, has, inventory, settled, ws } from "./fixtures.js"

const name = "test-environment-orion-server"

describe("Prefect server", () => {
  it("starts `prefect server start --host 0.0.0.0 --port 4200` as arguments, keeping the image's entrypoint", () => {
    const server = container(find(afterMigration(ws()), "Deployment", name))
    expect(server.name).toBe("orion-server")
    expect(server.command).toBeUndefined()
    // Word for word: each argument is its own list item, none is split or joined.
    expect(server.args).toEqual("prefect server start --host 0.0.0.0 --port 4200 --log-level INFO".split(" "))
  })

  it("runs controllerReplicas replicas behind Service <ws>-orion-server:4200 named http-orion", () => {
    const p = afterMigration(ws({ controllerReplicas: 3 }))
    expect(find(p, "Deployment", name).spec.replicas).toBe(3)
    expect(find(p, "Service", name).spec.ports).toEqual([
      { name: "http-orion", port: 4200, targetPort: "http-orion", protocol: "TCP" },
    ])
  })

  it("reads the database URL from the Secret, never migrates on start, and serves the UI with the configured API URL", () => {
    const env = envOf(
      container(find(afterMigration(ws({ server: { uiApiUrl: "https://p.example/api" } })), "Deployment", name)),
    )
    expect(env).toMatchObject({
      PREFECT_SERVER_DATABASE_CONNECTION_URL: {
        secretKeyRef: { name: "test-environment-environment-secrets", key: "connection-url" },
      },
      PREFECT_SERVER_DATABASE_MIGRATE_ON_START: "false",
      PREFECT_UI_API_URL: "https://p.example/api",
      PREFECT_UI_STATIC_DIRECTORY: "/ui_build",
      HOME: "/home/prefect",
      PREFECT_HOME: "/var/lib/prefect",
    })
    expect(Object.keys(env).some((k) => k.startsWith("PREFECT_ORION_"))).toBe(false)
    // The default works through `kubectl port-forward svc/<ws>-orion-server 4200:4200`.
    expect(envOf(container(find(afterMigration(ws()), "Deployment", name))).PREFECT_UI_API_URL).toBe(
      "http://localhost:4200/api",
    )
  })

  it("checks startup and liveness on /api/health and readiness on /api/ready", () => {
    const server = container(find(afterMigration(ws()), "Deployment", name))
    expect(server.startupProbe?.httpGet).toEqual({ path: "/api/health", port: "http-orion" })
    expect(server.livenessProbe?.httpGet).toEqual({ path: "/api/health", port: "http-orion" })
    expect(server.readinessProbe?.httpGet).toEqual({ path: "/api/ready", port: "http-orion" })
  })

  it("runs as 1001 on a read-only root with writable HOME, /tmp, PREFECT_HOME and UI build, without a token", () => {
    const pod = find(afterMigration(ws()), "Deployment", name).spec.template.spec
    expect(pod.securityContext).toEqual({
      runAsUser: 1001,
      runAsNonRoot: true,
      fsGroup: 1001,
      seccompProfile: { type: "RuntimeDefault" },
    })
    expect(pod.automountServiceAccountToken).toBe(false)
    const server = pod.containers[0]
    expect(server?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
    expect(server?.volumeMounts?.map((m) => m.mountPath)).toEqual([
      "/home/prefect",
      "/tmp",
      "/var/lib/prefect",
      "/ui_build",
    ])
  })

  it("uses default resources unless the spec gives its own, which replace them as a whole", () => {
    expect(container(find(afterMigration(ws()), "Deployment", name)).resources).toEqual({
      requests: { cpu: "500m", memory: "512Mi" },
      limits: { cpu: "1", memory: "1Gi" },
    })
    const custom = ws({ server: { resources: { requests: { cpu: "2" } } } })
    expect(container(find(afterMigration(custom), "Deployment", name)).resources).toEqual({ requests: { cpu: "2" } })
  })

  it("appends user env but drops entries that would override ours or repeat a name, and reports them", () => {
    const w = ws({
      server: {
        env: [
          { name: "EXTRA", value: "1" },
          { name: "PREFECT_UI_API_URL", value: "http://evil/api" },
          { name: "PREFECT_API_DATABASE_CONNECTION_URL", value: "sqlite://" },
          { name: "EXTRA", value: "2" },
        ],
      },
    })
    const p = afterMigration(w)
    const env = container(find(p, "Deployment", name)).env ?? []
    expect(env.filter((e) => e.name === "EXTRA")).toEqual([{ name: "EXTRA", value: "2" }])
    expect(env.find((e) => e.name === "PREFECT_UI_API_URL")?.value).toBe("http://localhost:4200/api")
    expect(env.some((e) => e.name === "PREFECT_API_DATABASE_CONNECTION_URL")).toBe(false)
    expect(env.at(-1)).toEqual({ name: "EXTRA", value: "2" })
    const degraded = condition(p, "Degraded")
    expect(degraded).toMatchObject({ status: "True", reason: "EnvVarsIgnored" })
    expect(degraded?.message).toContain("spec.workflows.server.env[1] (PREFECT_UI_API_URL) is set by Cartographer")
    expect(degraded?.message).toContain("spec.workflows.server.env[0] (EXTRA) is overridden by a later entry")
  })
})

describe("Redis for a multi-replica server", () => {
  const redis = "test-environment-orion-redis"

  it("is absent for a single replica", () => {
    const p = afterMigration(ws())
    expect(has(p, "Deployment", redis)).toBe(false)
    expect(Object.keys(envOf(container(find(p, "Deployment", name))))).not.toContain("PREFECT_MESSAGING_BROKER")
  })

  it("is added with controllerReplicas > 1, with every HA setting on the server", () => {
    const p = afterMigration(ws({ controllerReplicas: 2 }))
    expect(find(p, "Deployment", redis).spec.replicas).toBe(1)
    expect(find(p, "Service", redis).spec.ports[0]).toMatchObject({ name: "tcp-redis", port: 6379 })
    expect(envOf(container(find(p, "Deployment", name)))).toMatchObject({
      PREFECT_MESSAGING_BROKER: "prefect_redis.messaging",
      PREFECT_MESSAGING_CACHE: "prefect_redis.messaging",
      PREFECT_SERVER_EVENTS_CAUSAL_ORDERING: "prefect_redis.ordering",
      PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE: "prefect_redis.lease_storage",
      PREFECT_REDIS_MESSAGING_HOST: redis,
      PREFECT_REDIS_MESSAGING_PORT: "6379",
      PREFECT_SERVER_DOCKET_URL: `redis://${redis}:6379/1`,
    })
  })

  it("is pruned when controllerReplicas drops back to 1", () => {
    const ha = ws({ controllerReplicas: 2 })
    const world = settled(ha)
    const before = plan(ha, world)
    const single = plan(ws({ controllerReplicas: 1 }), world)
    expect(
      pruneTargets(single.prune, inventory(before))
        .map((o) => `${o.kind}/${o.name}`)
        .sort(),
    ).toEqual([`Deployment/${redis}`, `NetworkPolicy/${redis}`, `Service/${redis}`])
  })
})
