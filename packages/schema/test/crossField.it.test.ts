// The CRD's CEL twins of the Schema's cross-field rules, against the real API server: each mistake
// `cartographer-validate` reports is refused by `kubectl apply` too, naming the same field, and the fixed document is
// accepted.
import { kubectl, useNamespace } from "@cartographer/test/harness"
import { describe, expect, it } from "vitest"
import { stringify } from "yaml"

const namespace = useNamespace("schema-cross-field")

const workspace = (name: string, workflows: Record<string, unknown>) => ({
  apiVersion: "mlops.aigency.com/v1alpha1",
  kind: "Workspace",
  metadata: { name, namespace },
  spec: { workflows: { agentPools: [{ name: "default" }], ...workflows } },
})

/** [what is wrong, its workflows, the field the API server names, the fix] */
const mistakes: ReadonlyArray<readonly [string, Record<string, unknown>, string, Record<string, unknown>]> = [
  [
    "a TLS Secret without a host",
    { server: { ingress: { tlsSecretName: "tls" } } },
    "spec.workflows.server.ingress.tlsSecretName",
    { server: { ingress: { tlsSecretName: "tls", host: "prefect.example.com" } } },
  ],
  [
    "an Ingress and an HTTPRoute under different paths",
    { server: { ingress: { path: "/a" }, httpRoute: { parentRefs: [{ name: "g" }] } } },
    "spec.workflows.server.httpRoute.path",
    { server: { ingress: { path: "/a" }, httpRoute: { parentRefs: [{ name: "g" }], path: "/a" } } },
  ],
  [
    "a basic auth Secret while basic auth is off",
    { server: { basicAuth: { secretRef: { name: "auth" } } } },
    "spec.workflows.server.basicAuth.secretRef",
    { server: { basicAuth: { enabled: true, secretRef: { name: "auth" } } } },
  ],
  [
    "an in-cluster Redis image next to an external Redis",
    { redis: { image: "redis:8.2", external: { host: "redis" } } },
    "spec.workflows.redis.image",
    { redis: { external: { host: "redis" } } },
  ],
  [
    "scheduled backups of an external database",
    { database: { external: { secretRef: { name: "db" } }, backup: { schedule: "0 3 * * *" } } },
    "spec.workflows.database.backup.schedule",
    { database: { external: { secretRef: { name: "db" } } } },
  ],
  [
    "a restore into an external database",
    { database: { external: { secretRef: { name: "db" } }, restoreFrom: { claimName: "b", file: "x.dump" } } },
    "spec.workflows.database.restoreFrom",
    { database: { restoreFrom: { claimName: "b", file: "x.dump" } } },
  ],
  [
    "Docket in the messaging database (by default: db 1 against docketDb 1)",
    { redis: { external: { host: "redis", db: 1 } } },
    "spec.workflows.redis.external.docketDb",
    { redis: { external: { host: "redis", db: 1, docketDb: 2 } } },
  ],
]

describe("the CRD's cross-field rules", () => {
  it.each(mistakes.map((m, i) => [...m, i] as const))(
    "refuses %s, naming the field, and accepts the fix",
    async (_, workflows, field, fixed, index) => {
      const refused = await kubectl(["apply", "--dry-run=server", "-f", "-"], {
        input: stringify(workspace(`mistake-${index}`, workflows)),
      })
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toContain(field)
      const accepted = await kubectl(["apply", "--dry-run=server", "-f", "-"], {
        input: stringify(workspace(`mistake-${index}`, fixed)),
      })
      expect(accepted.stderr).toBe("")
      expect(accepted.code).toBe(0)
    },
  )
})
