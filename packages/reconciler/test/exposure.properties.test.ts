// Properties of the server's exposure, credentials and high-availability layout, over generated Workspaces in
// arbitrary observed worlds (plan.properties.test.ts states the planner's general ones).
import type { Workspace } from "@cartographer/schema"
import { workspace } from "@cartographer/schema/testing"
import { describe, expect } from "vitest"
import type { Container, Deployment, EnvVar, ManagedObject, Secret } from "../src/plan/kube.js"
import { plan } from "../src/plan/planner.js"
import { decodeBase64 } from "../src/plan/secrets.js"
import { observedFor, property } from "./arbitraries.js"

const generated = { apiAuthPassword: "GENERATED-AUTH-c2f1e7", redisPassword: "GENERATED-REDIS-9b04d1" }
const scenario = workspace().chain((ws) =>
  observedFor(ws).map((obs) => ({ ws, obs: { ...obs, generatedSecrets: generated } })),
)

const secretOf = (objects: ReadonlyArray<ManagedObject>, ws: Workspace): Secret | undefined =>
  objects.find((o): o is Secret => o.kind === "Secret" && o.metadata.name === `${ws.metadata.name}-environment-secrets`)
const deployment = (objects: ReadonlyArray<ManagedObject>, name: string): Deployment | undefined =>
  objects.find((o): o is Deployment => o.kind === "Deployment" && o.metadata.name === name)
const containers = (objects: ReadonlyArray<ManagedObject>): ReadonlyArray<Container> =>
  objects.flatMap((o) =>
    o.kind === "Deployment" || o.kind === "StatefulSet" || o.kind === "Job"
      ? [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers]
      : [],
  )
const env = (container: Container | undefined, name: string): EnvVar | undefined =>
  container?.env?.find((e) => e.name === name)

describe("credentials", () => {
  property(
    "never appear in a spec: generated passwords reach the Secret only, and pods read them by reference",
    [scenario],
    ({ ws, obs }) => {
      const objects = plan(ws, obs).apply
      const specs = JSON.stringify(objects.filter((o) => o.kind !== "Secret"))
      expect(specs).not.toContain(generated.apiAuthPassword)
      expect(specs).not.toContain(generated.redisPassword)
      if (!ws.spec.workflows.server.basicAuth.enabled) return
      for (const object of objects) {
        if (object.kind !== "Deployment") continue
        const component = object.metadata.labels["mlops.aigency.com/component"]
        const setting = component === "agent" ? "PREFECT_API_AUTH_STRING" : "PREFECT_SERVER_API_AUTH_STRING"
        if (component !== "agent" && component !== "server" && component !== "services") continue
        const spec = object.spec.template.spec
        for (const container of [...(spec.initContainers ?? []), ...spec.containers])
          expect(env(container, setting)?.valueFrom?.secretKeyRef, `${object.metadata.name} ${setting}`).toBeDefined()
      }
    },
  )

  property(
    "are there whenever they are read: every key a pod reads from the Workspace's Secret is in the planned Secret",
    [scenario],
    ({ ws, obs }) => {
      const objects = plan(ws, obs).apply
      const secretName = `${ws.metadata.name}-environment-secrets`
      const read = containers(objects).flatMap((c) =>
        (c.env ?? []).flatMap((e) =>
          e.valueFrom?.secretKeyRef?.name === secretName ? [e.valueFrom.secretKeyRef.key] : [],
        ),
      )
      const data = secretOf(objects, ws)?.data ?? {}
      for (const key of read) expect(Object.keys(data), key).toContain(key)
    },
  )

  property(
    "never change once written: every observed key is applied as it was, and an auth string matches its parts",
    [scenario],
    ({ ws, obs }) => {
      const secret = secretOf(plan(ws, obs).apply, ws)
      if (secret === undefined || obs.secret === undefined) return
      for (const [key, value] of Object.entries(obs.secret.data)) expect(secret.data[key], key).toBe(value)
      const authString = secret.data["auth-string"]
      if (authString !== undefined && obs.secret.data["auth-string"] === undefined) {
        const user = decodeBase64(secret.data["api-auth-username"] ?? "")
        const password = decodeBase64(secret.data["api-auth-password"] ?? "")
        expect(decodeBase64(authString)).toBe(`${user}:${password}`)
      }
    },
  )
})

describe("the server's layout", () => {
  property(
    "with several replicas: API only, one background services pod, a disruption budget; with one: none of them",
    [scenario],
    ({ ws, obs }) => {
      const objects = plan(ws, obs).apply
      const name = ws.metadata.name
      const ha = ws.spec.workflows.controllerReplicas > 1
      const server = deployment(objects, `${name}-orion-server`)?.spec.template.spec.containers[0]
      expect(server?.args?.includes("--no-services")).toBe(ha)
      const services = deployment(objects, `${name}-orion-services`)
      expect(services !== undefined).toBe(ha)
      expect(services?.spec.replicas ?? 0).toBeLessThanOrEqual(1)
      if (services !== undefined) expect(services.spec.template.spec.containers[0]?.env).toEqual(server?.env)
      expect(objects.some((o) => o.kind === "PodDisruptionBudget" && o.metadata.name === `${name}-orion-server`)).toBe(
        ha,
      )
      const inClusterRedis = ha && ws.spec.workflows.redis?.external === undefined
      expect(deployment(objects, `${name}-orion-redis`) !== undefined).toBe(inClusterRedis)
      // Every Prefect process of the server agrees on where Redis is, the cleanup queue and Docket included, and
      // a password, when there is one, reaches each of them.
      if (!ha) return
      const host = env(server, "PREFECT_REDIS_MESSAGING_HOST")?.value
      expect(env(server, "PREFECT_REDIS_WORKER_CLEANUP_QUEUE_HOST")?.value).toBe(host)
      const docket = env(server, "PREFECT_SERVER_DOCKET_URL")?.value ?? ""
      expect(docket).toContain(`${host}:`)
      const password = inClusterRedis || ws.spec.workflows.redis?.external?.passwordSecretRef !== undefined
      expect(docket.includes(":$(PREFECT_REDIS_MESSAGING_PASSWORD)@")).toBe(password)
      expect(env(server, "PREFECT_REDIS_WORKER_CLEANUP_QUEUE_PASSWORD") !== undefined).toBe(password)
    },
  )

  property(
    "serves the UI, the API, the probes and the workers' URL under one path, and the UI calls a route's host",
    [scenario],
    ({ ws, obs }) => {
      const objects = plan(ws, obs).apply
      const { ingress, httpRoute, uiApiUrl } = ws.spec.workflows.server
      const path = ingress?.path ?? httpRoute?.path ?? "/"
      const api = `${path === "/" ? "" : path}/api`
      const server = deployment(objects, `${ws.metadata.name}-orion-server`)?.spec.template.spec.containers[0]
      for (const probe of [server?.startupProbe, server?.livenessProbe, server?.readinessProbe])
        expect(probe?.httpGet?.path.startsWith(`${api}/`)).toBe(true)
      for (const worker of objects.filter(
        (o): o is Deployment => o.kind === "Deployment" && o.metadata.labels["mlops.aigency.com/component"] === "agent",
      ))
        expect(env(worker.spec.template.spec.containers[0], "PREFECT_API_URL")?.value?.endsWith(`:4200${api}`)).toBe(
          true,
        )
      const ui = env(server, "PREFECT_UI_API_URL")?.value ?? ""
      const host = ingress?.host ?? httpRoute?.hostnames?.[0]
      if (uiApiUrl !== undefined && uiApiUrl !== "http://localhost:4200/api") expect(ui).toBe(uiApiUrl)
      else if (host === undefined) expect(ui).toBe(`http://localhost:4200${api}`)
      else {
        const https = ingress?.host !== undefined ? ingress.tlsSecretName !== undefined : httpRoute?.https !== false
        expect(ui).toBe(`${https ? "https" : "http"}://${host}${api}`)
      }
    },
  )
})
