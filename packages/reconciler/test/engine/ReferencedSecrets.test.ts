import type { KubeObject, Live } from "@cartographer/k8s"
import { describe, expect, it } from "vitest"
import {
  observeSecret,
  SecretReaders,
  secretsReadBy,
  toSecretFacts,
  unmanagedSelector,
} from "../../src/engine/ReferencedSecrets.js"

const secret = {
  apiVersion: "v1",
  kind: "Secret",
  metadata: {
    name: "prefect-db",
    namespace: "team",
    uid: "u1",
    resourceVersion: "7",
    creationTimestamp: "2025-06-01T10:00:00Z",
    labels: { team: "ml" },
    annotations: { note: "x" },
    managedFields: [
      { manager: "kubectl-create", operation: "Update", time: "2025-06-01T10:00:00Z" },
      { manager: "kubectl-edit", operation: "Update", time: "2025-06-01T11:30:00Z" },
    ],
  },
  type: "Opaque",
  data: { "connection-url": "cG9zdGdyZXNxbA==", empty: "" },
  stringData: { extra: "plain" },
} as Live<KubeObject>

const workspace = (name: string, secretRef?: string): KubeObject => ({
  apiVersion: "mlops.aigency.com/v1alpha1",
  kind: "Workspace",
  metadata: { name, namespace: "team" },
  spec: {
    workflows: {
      agentPools: [{ name: "default" }],
      ...(secretRef === undefined ? {} : { database: { external: { secretRef: { name: secretRef } } } }),
    },
  },
})
const ref = { namespace: "team", name: "prefect-db" }

describe("a Secret a Workspace reads", () => {
  it("is cached as its key names and its last change only: no value survives the transform", () => {
    const facts = toSecretFacts(secret)
    // The envelope stays (a watch needs name, uid and resourceVersion); labels, annotations and managedFields go.
    const { labels: _labels, annotations: _annotations, managedFields: _managedFields, ...envelope } = secret.metadata
    expect(facts).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: envelope,
      keys: ["connection-url", "extra"],
      changedAt: "2025-06-01T11:30:00Z",
    })
    expect(JSON.stringify(facts)).not.toContain("cG9zdGdyZXNxbA")
    expect(observeSecret(ref, facts)).toEqual({
      ...ref,
      keys: ["connection-url", "extra"],
      changedAt: "2025-06-01T11:30:00Z",
    })
  })

  it("is observed as missing when no cache has it, and from its data when it is one of ours", () => {
    expect(observeSecret(ref, undefined)).toEqual(ref)
    expect(observeSecret(ref, { metadata: { name: "x" }, data: { "connection-url": "eA==", password: "" } })).toEqual({
      ...ref,
      keys: ["connection-url"],
    })
  })

  it("is watched with every Secret but the engine's own children", () => {
    expect(unmanagedSelector).toBe("app.kubernetes.io/managed-by!=cartographer")
  })
})

describe("who reads which Secret", () => {
  it("follows each Workspace's external database secretRef as it is created, changed and deleted", () => {
    const readers = new SecretReaders()
    readers.track("team/a", workspace("a", "prefect-db"))
    readers.track("team/b", workspace("b", "prefect-db"))
    readers.track("team/c", workspace("c"))
    expect([...readers.readersOf("team/prefect-db")].sort()).toEqual(["team/a", "team/b"])
    readers.track("team/a", workspace("a", "other-db"))
    expect(readers.readersOf("team/prefect-db")).toEqual(["team/b"])
    expect(readers.readersOf("team/other-db")).toEqual(["team/a"])
    readers.track("team/b", undefined)
    expect(readers.readersOf("team/prefect-db")).toEqual([])
    // A Secret of the same name in another namespace is another Secret.
    expect(readers.readersOf("elsewhere/other-db")).toEqual([])
  })

  it("reads nothing from a Workspace that does not name a Secret, or whose spec does not decode", () => {
    expect(secretsReadBy(workspace("a"))).toEqual([])
    expect(secretsReadBy({ spec: { workflows: { database: { external: { secretRef: { name: 7 } } } } } })).toEqual([])
    expect(secretsReadBy({ spec: "garbage" })).toEqual([])
    expect(secretsReadBy(workspace("a", "db"))).toEqual(["team/db"])
  })

  it("follows every Secret the spec names: a basic auth string and an external Redis's password too", () => {
    const named = workspace("a", "db")
    const workflows = (named.spec as { workflows: Record<string, unknown> }).workflows
    workflows.server = { basicAuth: { enabled: true, secretRef: { name: "ui-login" } } }
    workflows.controllerReplicas = 2
    workflows.redis = { external: { host: "redis.data", passwordSecretRef: { name: "redis-pass" } } }
    expect([...secretsReadBy(named)].sort()).toEqual(["team/db", "team/redis-pass", "team/ui-login"])
  })
})
