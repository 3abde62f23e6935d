import { describe, expect, it } from "vitest"
import { afterMigration, container, envOf, find, ws } from "./fixtures.js"

const server = "test-environment-orion-server"
const env = (workflows: Record<string, unknown>) =>
  envOf(container(find(afterMigration(ws(workflows)), "Deployment", server)))

describe("database retention", () => {
  it("is on by default with the in-cluster Postgres: flow runs after 90 days, orphans, events after 7 days", () => {
    expect(env({})).toMatchObject({
      PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED: "events,flow_runs,orphans",
      PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD: "P90D",
      PREFECT_SERVER_EVENTS_RETENTION_PERIOD: "P7D",
    })
  })

  it("is off by default with an external database, whose events Prefect still vacuums", () => {
    const external = env({ database: { external: { secretRef: { name: "db" } } } })
    expect(external.PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED).toBe("events")
    expect(external.PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD).toBeUndefined()
    expect(external.PREFECT_SERVER_EVENTS_RETENTION_PERIOD).toBe("P7D")
  })

  it("follows the spec: switched, and with its own retentions as ISO 8601 durations (never bare seconds)", () => {
    expect(env({ database: { retention: { flowRunDays: 30, eventDays: 14 } } })).toMatchObject({
      PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD: "P30D",
      PREFECT_SERVER_EVENTS_RETENTION_PERIOD: "P14D",
    })
    expect(env({ database: { retention: { enabled: false } } }).PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED).toBe(
      "events",
    )
    expect(
      env({ database: { external: { secretRef: { name: "db" } }, retention: { enabled: true } } })
        .PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED,
    ).toBe("events,flow_runs,orphans")
  })

  it("reaches the background services, where the vacuum runs with several replicas", () => {
    const p = afterMigration(ws({ controllerReplicas: 2, database: { retention: { flowRunDays: 10 } } }))
    expect(envOf(container(find(p, "Deployment", "test-environment-orion-services")))).toMatchObject({
      PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD: "P10D",
    })
  })
})

describe("Prometheus metrics", () => {
  it("are off by default: no setting, one Service port", () => {
    const p = afterMigration(ws())
    expect(env({}).PREFECT_SERVER_METRICS_ENABLED).toBeUndefined()
    expect(find(p, "Service", server).spec.ports.map((port) => port.name)).toEqual(["http-orion"])
  })

  it("switched on, are served by the server and named as port http-metrics on its Service", () => {
    const p = afterMigration(ws({ server: { metrics: { enabled: true } } }))
    expect(env({ server: { metrics: { enabled: true } } }).PREFECT_SERVER_METRICS_ENABLED).toBe("true")
    expect(find(p, "Service", server).spec.ports).toEqual([
      { name: "http-orion", port: 4200, targetPort: "http-orion", protocol: "TCP" },
      { name: "http-metrics", port: 9090, targetPort: "http-orion", protocol: "TCP" },
    ])
  })
})
