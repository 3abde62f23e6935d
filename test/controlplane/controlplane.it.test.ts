// Proof that the harness runs a real control plane: each test fails if a component is missing or faked.
import { existsSync, readFileSync } from "node:fs"
import { basename, join } from "node:path"
import { fileURLToPath } from "node:url"
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type V1CustomResourceDefinition,
  type V1Deployment,
} from "@kubernetes/client-node"
import { describe, expect, it, vi } from "vitest"
import { parse, stringify } from "yaml"
import { adminUser, kubectl, namespacedTestCrd, readAudit, sharedControlPlane, useNamespace } from "../harness/index.js"

const cp = sharedControlPlane()
const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
// Installed by the global setup from install/crd/ (or $CARTOGRAPHER_TEST_CRD_DIR).
const workspaceCrd = cp.crds.find((f) => basename(f) === "workspaces.mlops.aigency.com.yaml")
const basicSample = join(repoRoot, "samples/basic-workspace.yaml")
const missing = [
  ...(workspaceCrd ? [] : ["install/crd/workspaces.mlops.aigency.com.yaml"]),
  ...(existsSync(basicSample) ? [] : ["samples/basic-workspace.yaml"]),
]
const workspaceSkip =
  missing.length > 0
    ? ` [skipped: ${missing.join(", ")} not there yet]`
    : cp.crdFailures.some((f) => f.file === workspaceCrd)
      ? " [skipped: the API server rejected the Workspace CRD, see the install/crd/ test]"
      : ""
const core = () => cp.kubeConfig.makeApiClient(CoreV1Api)
const apps = () => cp.kubeConfig.makeApiClient(AppsV1Api)

const statusOf = async (promise: Promise<unknown>): Promise<number> => {
  try {
    await promise
    return 200
  } catch (error) {
    if (error instanceof ApiException) return error.code
    throw error
  }
}

const established = (crd: V1CustomResourceDefinition) =>
  crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false

// A small CRD of our own so that this proves CRD support even before the Workspace CRD exists.
const widgetCrd: V1CustomResourceDefinition = namespacedTestCrd(
  { group: "harness.cartographer.test", kind: "Widget", plural: "widgets" },
  { spec: { type: "object", required: ["size"], properties: { size: { type: "integer", minimum: 1 } } } },
)

const deployment = (
  name: string,
  replicas: number,
  owner?: { apiVersion: string; kind: string; name: string; uid: string },
): V1Deployment => ({
  metadata: { name, ...(owner ? { ownerReferences: [{ ...owner, blockOwnerDeletion: true }] } : {}) },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "main", image: "registry.invalid/never-pulled:1" }] },
    },
  },
})

describe("CRDs", () => {
  const namespace = useNamespace("crds")

  it("a CRD is accepted, becomes Established and validates its objects", async () => {
    const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api)
    await ext.createCustomResourceDefinition({ body: widgetCrd })
    try {
      await vi.waitFor(
        async () =>
          expect(
            established(await ext.readCustomResourceDefinition({ name: "widgets.harness.cartographer.test" })),
          ).toBe(true),
        { timeout: 30_000, interval: 200 },
      )
      const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi)
      const widget = (name: string, size: number) => ({
        group: "harness.cartographer.test",
        version: "v1",
        namespace,
        plural: "widgets",
        body: { apiVersion: "harness.cartographer.test/v1", kind: "Widget", metadata: { name }, spec: { size } },
      })
      // Discovery of a new group can lag its Established condition by a moment.
      await vi.waitFor(() => custom.createNamespacedCustomObject(widget("good", 3)), { timeout: 30_000, interval: 250 })
      const rejected = await custom.createNamespacedCustomObject(widget("bad", 0)).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(rejected).toBeInstanceOf(ApiException)
      expect((rejected as ApiException<string>).code).toBe(422)
      expect(String((rejected as ApiException<string>).body)).toContain("spec.size")
    } finally {
      await ext.deleteCustomResourceDefinition({ name: "widgets.harness.cartographer.test" })
    }
  })

  it("the project's CRDs from install/crd/ were installed by the global setup and are Established", async () => {
    expect(cp.crdFailures.map((f) => f.message)).toEqual([])
    const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api)
    for (const file of cp.crds) {
      const name = (parse(readFileSync(file, "utf8")) as { metadata: { name: string } }).metadata.name
      expect(established(await ext.readCustomResourceDefinition({ name })), name).toBe(true)
    }
  })

  it.skipIf(workspaceSkip !== "")(
    `kubectl creates the valid samples/basic-workspace.yaml${workspaceSkip}`,
    async () => {
      const created = await kubectl(["create", "-n", namespace, "-f", basicSample])
      expect(created.stderr).toBe("")
      expect(created.code).toBe(0)
      const got = await kubectl(["get", "workspaces.mlops.aigency.com", "-n", namespace, "-o", "name"])
      expect(got.stdout).toContain("workspace.mlops.aigency.com/")
    },
  )

  it.skipIf(workspaceSkip !== "")(
    `kubectl gets an invalid Workspace rejected, naming the field${workspaceSkip}`,
    async () => {
      const sample = parse(readFileSync(basicSample, "utf8")) as {
        metadata: { name: string }
        spec: { workflows: { controllerReplicas: number } }
      }
      sample.metadata.name = "invalid"
      sample.spec.workflows.controllerReplicas = -1
      const result = await kubectl(["create", "-n", namespace, "-f", "-"], { input: stringify(sample) })
      expect(result.code).not.toBe(0)
      expect(result.stderr).toContain("spec.workflows.controllerReplicas")
      const got = await kubectl(["get", "workspaces.mlops.aigency.com", "invalid", "-n", namespace])
      expect(got.stderr).toContain("NotFound")
    },
  )
})

/**
 * Grants ServiceAccount `account` of `namespace` `verbs` on its ConfigMaps, through a Role and a RoleBinding so named.
 * A Role of our own: the aggregated ClusterRoles (edit, view) stay empty in tier "api", where no
 * kube-controller-manager aggregates them.
 */
const grantConfigMaps = async (
  namespace: string,
  account: string,
  verbs: ReadonlyArray<string>,
  names: { readonly role: string; readonly binding: string },
) => {
  const rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api)
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: names.role },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: [...verbs] }],
    },
  })
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: names.binding },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: names.role },
      subjects: [{ kind: "ServiceAccount", name: account, namespace }],
    },
  })
}

describe("RBAC and audit", () => {
  const namespace = useNamespace("rbac")

  it("a ServiceAccount without rights gets 403, and 200 once a RoleBinding grants them", async () => {
    const sa = await cp.clientFor({ namespace, name: "reader" })
    const asReader = sa.kubeConfig.makeApiClient(CoreV1Api)
    expect(await statusOf(asReader.listNamespacedConfigMap({ namespace }))).toBe(403)
    await grantConfigMaps(namespace, "reader", ["get", "list"], {
      role: "read-configmaps",
      binding: "reader-reads-configmaps",
    })
    // The RBAC authorizer learns of new bindings through an informer: allow it a moment.
    await vi.waitFor(async () => expect(await statusOf(asReader.listNamespacedConfigMap({ namespace }))).toBe(200), {
      timeout: 10_000,
      interval: 100,
    })
    // Still only what was granted.
    expect(await statusOf(asReader.listNamespacedSecret({ namespace }))).toBe(403)
  })

  it("the audit log records mutating requests with the user that made them", async () => {
    const since = new Date(Date.now() - 1_000)
    const sa = await cp.clientFor({ namespace, name: "writer" })
    await grantConfigMaps(namespace, "writer", ["create"], { role: "write-configmaps", binding: "writer-edits" })
    const asWriter = sa.kubeConfig.makeApiClient(CoreV1Api)
    await vi.waitFor(
      () => asWriter.createNamespacedConfigMap({ namespace, body: { metadata: { name: "by-writer" } } }),
      { timeout: 10_000, interval: 100 },
    )
    const user = `system:serviceaccount:${namespace}:writer`
    const writes = await readAudit(cp.auditLogPath, { user, mutating: true, namespace, since })
    expect(
      writes.map((e) => [e.verb, e.objectRef?.resource, e.objectRef?.name, e.responseStatus?.code]),
    ).toContainEqual(["create", "configmaps", "by-writer", 201])
    expect(writes.every((e) => e.user.username === user)).toBe(true)
    const adminWrites = await readAudit(cp.auditLogPath, { user: adminUser, mutating: true, namespace, since })
    expect(adminWrites.map((e) => [e.verb, e.objectRef?.resource, e.objectRef?.name])).toContainEqual([
      "create",
      "rolebindings",
      "writer-edits",
    ])
    expect(adminWrites.some((e) => e.objectRef?.name === "by-writer")).toBe(false)
  })
})

describe.skipIf(cp.tier === "api")(
  `controllers, scheduler and kwok (tiers cluster and node)${cp.tier === "api" ? " [skipped: CARTOGRAPHER_TEST_TIER=api]" : ""}`,
  () => {
    const namespace = useNamespace("cluster")

    it("a Deployment becomes available and its Pods are Running and Ready with an IP on a fake node", async () => {
      await apps().createNamespacedDeployment({ namespace, body: deployment("web", 2) })
      await vi.waitFor(
        async () => {
          const d = await apps().readNamespacedDeployment({ namespace, name: "web" })
          expect(d.status?.availableReplicas).toBe(2)
          expect(d.status?.availableReplicas).toBe(d.spec?.replicas)
        },
        { timeout: 90_000, interval: 500 },
      )
      const pods = await core().listNamespacedPod({ namespace, labelSelector: "app=web" })
      expect(pods.items).toHaveLength(2)
      for (const pod of pods.items) {
        expect(pod.status?.phase).toBe("Running")
        expect(pod.status?.podIP).toMatch(/^10\.244\./)
        expect(cp.nodeNames).toContain(pod.spec?.nodeName)
        expect(pod.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True")
        // The ServiceAccount admission plugin and the token controller did their part.
        expect(pod.spec?.serviceAccountName).toBe("default")
      }
    })

    it("deleting an owner cascades to its dependents through the garbage collector", async () => {
      const owner = await core().createNamespacedConfigMap({ namespace, body: { metadata: { name: "owner" } } })
      const ref = { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata?.uid ?? "" }
      await apps().createNamespacedDeployment({ namespace, body: deployment("owned", 1, ref) })
      await vi.waitFor(
        async () =>
          expect((await core().listNamespacedPod({ namespace, labelSelector: "app=owned" })).items).toHaveLength(1),
        { timeout: 60_000, interval: 500 },
      )
      await core().deleteNamespacedConfigMap({ namespace, name: "owner", propagationPolicy: "Foreground" })
      await vi.waitFor(
        async () => {
          expect(await statusOf(apps().readNamespacedDeployment({ namespace, name: "owned" }))).toBe(404)
          expect(await statusOf(core().readNamespacedConfigMap({ namespace, name: "owner" }))).toBe(404)
          expect((await core().listNamespacedPod({ namespace, labelSelector: "app=owned" })).items).toHaveLength(0)
        },
        { timeout: 90_000, interval: 500 },
      )
    })

    it.skipIf(workspaceSkip !== "")(
      `deleting a Workspace cascades to the Deployment it owns${workspaceSkip}`,
      async () => {
        expect((await kubectl(["create", "-n", namespace, "-f", basicSample])).code).toBe(0)
        const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi)
        const name = (parse(readFileSync(basicSample, "utf8")) as { metadata: { name: string } }).metadata.name
        const ws = (await custom.getNamespacedCustomObject({
          group: "mlops.aigency.com",
          version: "v1alpha1",
          namespace,
          plural: "workspaces",
          name,
        })) as { metadata: { uid: string } }
        const ref = { apiVersion: "mlops.aigency.com/v1alpha1", kind: "Workspace", name, uid: ws.metadata.uid }
        await apps().createNamespacedDeployment({ namespace, body: deployment("ws-owned", 1, ref) })
        await custom.deleteNamespacedCustomObject({
          group: "mlops.aigency.com",
          version: "v1alpha1",
          namespace,
          plural: "workspaces",
          name,
        })
        await vi.waitFor(
          async () =>
            expect(await statusOf(apps().readNamespacedDeployment({ namespace, name: "ws-owned" }))).toBe(404),
          { timeout: 90_000, interval: 500 },
        )
      },
    )
  },
)
