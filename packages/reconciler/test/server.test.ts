import { describe, expect, it } from "vitest"
import { afterMigration, condition, container, envOf, find, ws } from "./fixtures.js"

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

  it("checks startup on /api/health, readiness on /api/ready, and liveness on /api/ready for 5 minutes", () => {
    const server = container(find(afterMigration(ws()), "Deployment", name))
    expect(server.startupProbe?.httpGet).toEqual({ path: "/api/health", port: "http-orion" })
    expect(server.readinessProbe).toEqual({
      httpGet: { path: "/api/ready", port: "http-orion" },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    })
    // /api/health never reads the database: only /api/ready notices a database lost for good.
    expect(server.livenessProbe).toEqual({
      httpGet: { path: "/api/ready", port: "http-orion" },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 30,
    })
  })

  it("restarts a replica after databaseLossRestartSeconds without its database, rounded up to the probe's period", () => {
    const probe = (seconds: number) =>
      container(find(afterMigration(ws({ server: { databaseLossRestartSeconds: seconds } })), "Deployment", name))
        .livenessProbe
    expect(probe(60)?.failureThreshold).toBe(6)
    expect(probe(95)?.failureThreshold).toBe(10)
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
