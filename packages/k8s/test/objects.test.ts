import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { TestClock } from "effect/testing"
import { formatMicroTime, nowMicroTime } from "../src/internal/microTime.js"
import { collectionPath, toLive } from "../src/internal/objects.js"
import { truncateUtf8 } from "../src/internal/utf8.js"
import { Kinds, resourceKind } from "../src/Kinds.js"
import type { KubeClient } from "../src/KubeClient.js"
import { envelopeProblem, objectKey } from "../src/KubeObject.js"

describe("API paths", () => {
  it("puts core kinds under /api and others under /apis", () => {
    assert.strictEqual(collectionPath(Kinds.Secret, "ns"), "/api/v1/namespaces/ns/secrets")
    assert.strictEqual(collectionPath(Kinds.Deployment, "ns"), "/apis/apps/v1/namespaces/ns/deployments")
    assert.strictEqual(
      collectionPath(Kinds.Workspace, "team-a"),
      "/apis/mlops.aigency.com/v1alpha1/namespaces/team-a/workspaces",
    )
  })

  it("lists across namespaces without a namespace, and ignores one for cluster-scoped kinds", () => {
    assert.strictEqual(collectionPath(Kinds.Lease), "/apis/coordination.k8s.io/v1/leases")
    assert.strictEqual(collectionPath(Kinds.Namespace, "ignored"), "/api/v1/namespaces")
  })

  it("derives apiVersion from group and version", () => {
    assert.strictEqual(Kinds.Event.apiVersion, "events.k8s.io/v1")
    assert.strictEqual(Kinds.Pod.apiVersion, "v1")
    const crd = resourceKind({
      group: "example.com",
      version: "v1",
      kind: "Widget",
      plural: "widgets",
      namespaced: true,
    })
    assert.strictEqual(crd.apiVersion, "example.com/v1")
  })
})

describe("objects read from the server", () => {
  it("fills apiVersion and kind that list items omit and keeps every other field", () => {
    const item = { metadata: { name: "a", namespace: "ns", uid: "u", resourceVersion: "12" }, data: { x: "1" } }
    const live = toLive(Kinds.ConfigMap, item)
    assert.isTrue(Result.isSuccess(live))
    if (Result.isSuccess(live)) {
      assert.strictEqual(live.success.apiVersion, "v1")
      assert.strictEqual(live.success.kind, "ConfigMap")
      assert.deepStrictEqual(live.success.data, { x: "1" })
    }
  })

  it("rejects an object without name, uid or resourceVersion as Decode", () => {
    const live = toLive(Kinds.ConfigMap, { metadata: { name: "a" } })
    assert.isTrue(Result.isFailure(live) && live.failure._tag === "Decode")
  })

  it("accepts a dry run's would-be create without uid or resourceVersion, reporting them as empty", () => {
    const preview = toLive(Kinds.ConfigMap, { metadata: { name: "a", namespace: "ns" } }, true)
    assert.isTrue(Result.isSuccess(preview))
    if (Result.isSuccess(preview)) {
      assert.deepStrictEqual(preview.success.metadata, { name: "a", namespace: "ns", uid: "", resourceVersion: "" })
    }
    assert.isTrue(Result.isFailure(toLive(Kinds.ConfigMap, { metadata: {} }, true)))
  })

  it("names the first field of a malformed envelope, path first", () => {
    const meta = { name: "a", uid: "u", resourceVersion: "1" }
    assert.strictEqual(envelopeProblem(null), "expected an object")
    assert.strictEqual(envelopeProblem([]), "expected an object")
    assert.strictEqual(envelopeProblem({ kind: 3, metadata: meta }), "kind: expected a string")
    assert.strictEqual(envelopeProblem({ metadata: "x" }), "metadata: expected an object")
    assert.strictEqual(envelopeProblem({ metadata: { ...meta, name: 1 } }), "metadata.name: expected a string")
    assert.strictEqual(
      envelopeProblem({ metadata: { ...meta, namespace: 1 } }),
      "metadata.namespace: expected a string",
    )
    assert.strictEqual(
      envelopeProblem({ metadata: { name: "a", resourceVersion: "1" } }),
      "metadata.uid: expected a string",
    )
    assert.strictEqual(
      envelopeProblem({ metadata: { name: "a", uid: "u", resourceVersion: 1 } }),
      "metadata.resourceVersion: expected a string",
    )
    // Only a dry run's would-be create may leave them out, and even then they must be strings when present.
    assert.isUndefined(envelopeProblem({ metadata: { name: "a" } }, true))
    assert.strictEqual(envelopeProblem({ metadata: { name: "a", uid: 7 } }, true), "metadata.uid: expected a string")
    assert.isUndefined(envelopeProblem({ apiVersion: "v1", kind: "ConfigMap", metadata: meta, data: { x: 1 } }))
  })

  it("keys namespaced objects as namespace/name and cluster-scoped ones by name", () => {
    assert.strictEqual(objectKey({ namespace: "ns", name: "a" }), "ns/a")
    assert.strictEqual(objectKey({ name: "a" }), "a")
  })
})

describe("MicroTime", () => {
  it("formats with exactly six fractional digits in UTC", () => {
    assert.strictEqual(formatMicroTime(1_700_000_000_123_456_789n), "2023-11-14T22:13:20.123456Z")
    assert.strictEqual(formatMicroTime(0n), "1970-01-01T00:00:00.000000Z")
  })

  it.effect("reads the time from the Clock", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2026-03-01T12:00:00.250Z"))
      assert.strictEqual(yield* nowMicroTime, "2026-03-01T12:00:00.250000Z")
    }),
  )
})

describe("event text limits", () => {
  it("truncates to a byte budget without splitting a character", () => {
    assert.strictEqual(truncateUtf8("hello", 10), "hello")
    assert.strictEqual(truncateUtf8("héllo", 2), "h")
    assert.strictEqual(new TextEncoder().encode(truncateUtf8("€".repeat(500), 1024)).length, 1023)
  })
})

describe("read-only kinds", () => {
  it("refuses at compile time to write Pods", () => {
    // Type-level only (never run): `tsc -p packages/k8s` fails if a Pod write type-checks.
    const writes = (client: KubeClient["Service"]) => [
      // @ts-expect-error Pods are read-only to Cartographer
      client.apply(Kinds.Pod, { metadata: { name: "p", namespace: "n" } }),
      // @ts-expect-error Pods are read-only to Cartographer
      client.delete(Kinds.Pod, { name: "p", namespace: "n" }),
      client.get(Kinds.Pod, { name: "p", namespace: "n" }),
    ]
    assert.isFunction(writes)
  })
})
