// The Schema's rules for exposing the server, basic auth, Redis, retention and liveness: each refusal with the exact
// path and message a user reads (the cross-field ones included, which `cartographer-validate` reports and the CRD's
// CEL rules twin), and what they accept.
import { describe, expect, it } from "vitest"
import { validateWorkspace } from "../src/index.js"
import { withChange } from "./fixtures.js"

const server = (fields: Record<string, unknown>) => withChange((ws) => (ws.spec.workflows.server = fields))
const route = { parentRefs: [{ name: "gateway" }] }

/** [what is wrong, the document, the exact path, the exact message] */
const badInputs: ReadonlyArray<readonly [string, unknown, string, string]> = [
  [
    "a TLS Secret without a host",
    server({ ingress: { tlsSecretName: "tls" } }),
    "spec.workflows.server.ingress.tlsSecretName",
    "needs ingress.host: a TLS certificate is served for a host name",
  ],
  [
    "an Ingress and an HTTPRoute under different paths",
    server({ ingress: { path: "/a" }, httpRoute: { ...route, path: "/b" } }),
    "spec.workflows.server.httpRoute.path",
    'must equal ingress.path ("/a"): the server serves its UI and API under one path',
  ],
  [
    "a wildcard host",
    server({ ingress: { host: "*.example.com" } }),
    "spec.workflows.server.ingress.host",
    "must be a DNS name such as prefect.example.com: lowercase letters, digits, '-' and '.', no wildcard (the UI needs one URL to call)",
  ],
  [
    "a path with a trailing slash",
    server({ ingress: { path: "/prefect/" } }),
    "spec.workflows.server.ingress.path",
    "must be / or a path such as /prefect: segments of letters, digits, '.', '_', '~' and '-', no trailing /",
  ],
  [
    "an HTTPRoute without a Gateway",
    server({ httpRoute: { parentRefs: [] } }),
    "spec.workflows.server.httpRoute.parentRefs",
    "must list at least one Gateway, e.g. [{ name: shared-gateway }]",
  ],
  [
    "a listener name that is not a DNS label",
    server({ httpRoute: { parentRefs: [{ name: "g", sectionName: "HTTPS" }] } }),
    "spec.workflows.server.httpRoute.parentRefs[0].sectionName",
    "must be a listener name (DNS-1123 label)",
  ],
  [
    "a basic auth Secret while basic auth is off",
    server({ basicAuth: { secretRef: { name: "auth" } } }),
    "spec.workflows.server.basicAuth.secretRef",
    "is only used with enabled: true (set it, or remove secretRef)",
  ],
  [
    "a liveness tolerance shorter than a database restart",
    server({ databaseLossRestartSeconds: 10 }),
    "spec.workflows.server.databaseLossRestartSeconds",
    "must be at least 30: shorter would restart the server during an ordinary database restart",
  ],
  [
    "an in-cluster Redis image next to an external Redis",
    withChange((ws) => (ws.spec.workflows.redis = { image: "redis:8.2", external: { host: "redis" } })),
    "spec.workflows.redis.image",
    "is for the in-cluster Redis: remove it, or remove redis.external",
  ],
  [
    "Docket in the messaging database",
    withChange((ws) => (ws.spec.workflows.redis = { external: { host: "redis", db: 1, docketDb: 1 } })),
    "spec.workflows.redis.external.docketDb",
    "must differ from external.db (1): Docket and Prefect's messaging must not share a database",
  ],
  [
    "an external Redis without a host",
    withChange((ws) => (ws.spec.workflows.redis = { external: {} })),
    "spec.workflows.redis.external.host",
    "is required",
  ],
  [
    "a retention of 0 days",
    withChange((ws) => (ws.spec.workflows.database = { retention: { flowRunDays: 0 } })),
    "spec.workflows.database.retention.flowRunDays",
    "must be at least 1 day",
  ],
]

describe("the server's exposure, auth, Redis, retention and liveness", () => {
  it.each(badInputs)("refuses %s, at its path", (_, doc, path, message) => {
    const result = validateWorkspace(doc)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issues).toContainEqual({ path, message })
  })

  it("accepts an Ingress and an HTTPRoute under one path, with their defaults", () => {
    const result = validateWorkspace(
      server({
        ingress: { host: "prefect.example.com", tlsSecretName: "tls", path: "/prefect" },
        httpRoute: { ...route, hostnames: ["prefect.example.com"], path: "/prefect" },
        basicAuth: { enabled: true, secretRef: { name: "auth" } },
      }),
    )
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    const decoded = result.value.spec.workflows.server
    expect(decoded.httpRoute?.https).toBe(true)
    expect(decoded.basicAuth.secretRef).toEqual({ name: "auth", key: "auth-string" })
    expect(validateWorkspace(server({ ingress: {} })).ok && "an Ingress for every host on /").toBeTruthy()
  })

  it("accepts an external Redis with its stated defaults", () => {
    const result = validateWorkspace(withChange((ws) => (ws.spec.workflows.redis = { external: { host: "10.0.0.7" } })))
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    expect(result.value.spec.workflows.redis?.external).toEqual({
      host: "10.0.0.7",
      port: 6379,
      db: 0,
      docketDb: 1,
      tls: false,
    })
  })
})
