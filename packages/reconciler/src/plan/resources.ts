/**
 * Default compute resources per component (prefect-helm's production values for the server and workers). A
 * `resources` given in the spec replaces the default as a whole: merging a user's request with a default limit could
 * produce a request above its limit, which the API server rejects.
 */
import type { Resources } from "@cartographer/schema"
import type { ResourceRequirements } from "./kube.js"

export const defaultResources = {
  server: { requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
  worker: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
  /** Prefect's background services apart from the API (several server replicas). */
  services: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
  migration: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
  database: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
  redis: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
  backup: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
  waitForDatabase: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
  /** A Prefect client polling the work pool every half minute (measured on the real node: see ADR 0009). */
  jobTemplateSync: { requests: { cpu: "10m", memory: "128Mi" }, limits: { cpu: "200m", memory: "256Mi" } },
} as const satisfies Record<string, ResourceRequirements>

export const resourcesOr = (given: Resources | undefined, fallback: ResourceRequirements): ResourceRequirements => {
  if (given === undefined) return fallback
  const requests = given.requests !== undefined && Object.keys(given.requests).length > 0 ? given.requests : undefined
  const limits = given.limits !== undefined && Object.keys(given.limits).length > 0 ? given.limits : undefined
  // `resources: {}` says nothing: keep the default rather than run without requests.
  if (requests === undefined && limits === undefined) return fallback
  return {
    ...(requests === undefined ? {} : { requests }),
    ...(limits === undefined ? {} : { limits }),
  }
}
