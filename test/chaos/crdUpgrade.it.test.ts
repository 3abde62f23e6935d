// An upgrade that tightens the CRD: a Workspace that an earlier, looser CRD admitted stays stored as it was (the API
// server does not re-validate stored objects, and its validation ratcheting lets updates through that leave the
// invalid field alone). The upgraded operator must then answer it with Degraded=InvalidSpec naming the path, write
// nothing but the status (above all: no child, so the running server and workers stay as they were), and converge
// as soon as the user corrects the field.
//
// The looser CRD is today's CRD without the container-resources rules, which is what releases before those rules
// shipped installed. The swap needs a private control plane: the run's shared one serves suites that rely on the
// rules while this file runs.
import { readFile } from "node:fs/promises"
import { basename } from "node:path"
import { auditSentinel, pollUntil } from "@cartographer/test/harness"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { auditTail } from "../bench/support/auditTail.js"
import { type BenchCluster, crdFiles } from "../bench/support/benchCluster.js"
import { workspaceName } from "../bench/support/benchWorkspaces.js"
import { collectionPath, objectPath } from "../bench/support/objectPaths.js"
import { eventOf } from "../bench/support/operatorProcess.js"
import { createNamespace, createWorkspaceAt } from "../bench/support/setup.js"
import { patchWorkflows, startOperator, usePrivateCluster } from "./support/cluster.js"
import { fixpointWrites, isWriteBy, waitConverged, waitSettled } from "./support/convergence.js"

const cluster = usePrivateCluster()
const namespace = "upgrade"
const name = workspaceName(0)
const invalidPath = "spec.workflows.server.resources.requests.cpu"
/** A server asking for more CPU than its limit: refused by today's CRD and Schema, admitted by the looser CRD. */
const overLimit = { server: { resources: { requests: { cpu: "2" }, limits: { cpu: "1" } } } }

type Json = Record<string, unknown>

const workspaceCrd = async (): Promise<Json> => {
  const files = (await crdFiles()).filter((f) => basename(f).startsWith("workspaces."))
  if (files.length !== 1) throw new Error(`expected one Workspace CRD in install/crd, found ${files.join(", ")}`)
  return parse(await readFile(files[0] as string, "utf8")) as Json
}

/** A copy of `node` without the CEL rules of every `resources` object and of its `requests` and `limits`. */
const withoutResourceRules = (node: unknown, underResources = false): unknown => {
  if (Array.isArray(node)) return node.map((item) => withoutResourceRules(item))
  if (typeof node !== "object" || node === null) return node
  const out: Json = {}
  for (const [key, value] of Object.entries(node)) {
    if (key === "x-kubernetes-validations" && underResources) continue
    if (key === "properties" && typeof value === "object" && value !== null) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([property, schema]) => [
          property,
          withoutResourceRules(schema, underResources || property === "resources"),
        ]),
      )
    } else out[key] = withoutResourceRules(value)
  }
  return out
}

/** Applies a CRD as `kubectl apply --server-side --force-conflicts` would. */
const applyCrd = async (c: BenchCluster, crd: Json): Promise<void> => {
  const crdName = (crd.metadata as { name: string }).name
  const response = await c.api.send({
    method: "PATCH",
    path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`,
    query: { fieldManager: "crd-upgrade-test", force: "true" },
    body: crd,
    contentType: "application/apply-patch+yaml",
  })
  if (response.status >= 300) throw new Error(`apply CRD: HTTP ${response.status} ${response.body.slice(0, 300)}`)
}

/**
 * Whether the API server currently refuses a Workspace over its CPU limit (a dry-run create, which stores nothing).
 * The API server takes up a changed CRD's schema asynchronously, so callers poll this.
 */
const refusesOverLimit = async (c: BenchCluster): Promise<boolean> => {
  const response = await c.api.send({
    method: "POST",
    path: collectionPath("Workspace", namespace),
    query: { dryRun: "All" },
    body: {
      apiVersion: "mlops.aigency.com/v1alpha1",
      kind: "Workspace",
      metadata: { name: "probe", namespace },
      spec: { workflows: { agentPools: [{ name: "default" }], ...overLimit } },
    },
  })
  if (response.status === 422) return true
  if (response.status < 300) return false
  throw new Error(`dry-run create: HTTP ${response.status} ${response.body.slice(0, 300)}`)
}

const shortly = { timeoutMs: 30_000 }

interface LiveWorkspace {
  readonly metadata: { readonly generation: number }
  readonly status?: {
    readonly observedGeneration?: number
    readonly conditions?: ReadonlyArray<{ type: string; status: string; reason: string; message: string }>
  }
}

const getWorkspace = async (c: BenchCluster): Promise<LiveWorkspace> => {
  const response = await c.api.send({
    method: "GET",
    path: objectPath({ kind: "Workspace", metadata: { name, namespace } }),
  })
  if (response.status !== 200) throw new Error(`get Workspace: HTTP ${response.status} ${response.body.slice(0, 200)}`)
  return JSON.parse(response.body) as LiveWorkspace
}

const degradedOfCurrentGeneration = async (c: BenchCluster) => {
  const live = await getWorkspace(c)
  return live.status?.observedGeneration === live.metadata.generation
    ? live.status.conditions?.find((condition) => condition.type === "Degraded")
    : undefined
}

describe("a CRD upgrade that tightens validation", () => {
  it("answers a Workspace the earlier CRD admitted with Degraded=InvalidSpec, writes only its status, and converges once it is corrected", async () => {
    const c = cluster()
    await createNamespace(c.api, namespace)
    const before = await startOperator(c, { identity: "before-upgrade", namespaces: [namespace] })
    await before.waitFor(eventOf("synced"), 60_000)
    await createWorkspaceAt(c.api, namespace, 0)
    await waitConverged(c, namespace, 60_000, before)
    await waitSettled(c, namespace, before)
    await before.stop()

    // Under the looser CRD the user asks for more CPU than the limit; the API server stores it.
    const crd = await workspaceCrd()
    await applyCrd(c, withoutResourceRules(crd) as Json)
    await pollUntil("the looser CRD is in force", async () => !(await refusesOverLimit(c)), shortly)
    await patchWorkflows(c, namespace, name, overLimit)

    // The upgrade: today's CRD, then today's operator.
    await applyCrd(c, crd)
    await pollUntil("the upgraded CRD is in force", () => refusesOverLimit(c), shortly)
    const tail = auditTail(c.controlPlane.auditLogPath, { fromEnd: true })
    await tail.read()
    const after = await startOperator(c, { identity: "after-upgrade", namespaces: [namespace] })
    await after.waitFor(eventOf("synced"), 60_000)

    const degraded = await pollUntil(
      "Degraded=InvalidSpec for the stored spec",
      async () => {
        const condition = await degradedOfCurrentGeneration(c)
        return condition?.reason === "InvalidSpec" ? condition : undefined
      },
      { timeoutMs: 30_000 },
    )
    expect(degraded).toMatchObject({ status: "True", reason: "InvalidSpec" })
    expect(degraded.message).toContain(invalidPath)

    // Ratcheting lets a change elsewhere in the spec through; the operator still rolls nothing out.
    await patchWorkflows(c, namespace, name, { image: "prefecthq/prefect:3.8.8-python3.11" })
    await pollUntil(
      "the status of the changed spec",
      async () => (await degradedOfCurrentGeneration(c))?.reason === "InvalidSpec",
      shortly,
    )
    await auditSentinel(c.controlPlane.auditLogPath, ({ path }) => c.api.send({ method: "GET", path }))
    const writes = (await tail.read()).filter(isWriteBy("after-upgrade", after.startedAt))
    const described = writes.map(
      (e) => `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`,
    )
    // Events are created, then patched as they repeat.
    expect(described.filter((w) => w !== "patch workspaces/status" && !/^(create|patch) events$/u.test(w))).toEqual([])
    expect(described).toContain("patch workspaces/status")

    // The user corrects the field (allowed: the update makes it valid) and the Workspace converges.
    await patchWorkflows(c, namespace, name, { server: { resources: { requests: { cpu: "1" } } } })
    await pollUntil(
      "Degraded is no longer InvalidSpec",
      async () => {
        const condition = await degradedOfCurrentGeneration(c)
        return condition !== undefined && condition.reason !== "InvalidSpec"
      },
      shortly,
    )
    await waitConverged(c, namespace, 60_000, after)
    await waitSettled(c, namespace, after)
    await after.stop()
    const server = await c.api.send({
      method: "GET",
      path: objectPath({ kind: "Deployment", metadata: { name: `${name}-orion-server`, namespace } }),
    })
    const container = (
      JSON.parse(server.body) as {
        spec: { template: { spec: { containers: ReadonlyArray<{ image: string; resources: Json }> } } }
      }
    ).spec.template.spec.containers[0]
    expect(container?.image).toBe("prefecthq/prefect:3.8.8-python3.11")
    expect(container?.resources).toMatchObject({ requests: { cpu: "1" }, limits: { cpu: "1" } })
    expect(await fixpointWrites(c, namespace)).toEqual([])
  }, 600_000)
})
