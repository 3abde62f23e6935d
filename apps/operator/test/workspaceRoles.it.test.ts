// The two ClusterRoles the install ships for people (install/rbac/workspace-editor-role.yaml and -viewer-role.yaml),
// applied as `kubectl apply -k install` renders them, and aggregated by kube-controller-manager into the built-in
// `edit` and `view`. Tested by the API server's own authorizer: real requests of two ServiceAccounts, one bound to
// `edit` and one to `view` in a namespace, made with kubectl as a person would make them.
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import {
  kubectlStdout as admin,
  type KubectlResult,
  kubectl,
  pollUntil,
  runKubectl,
  sharedControlPlane,
  useNamespace,
} from "@cartographer/test/harness"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseAllDocuments, stringify } from "yaml"

const namespace = useNamespace("workspace-roles")
const elsewhere = useNamespace("workspace-roles-elsewhere")
const install = fileURLToPath(new URL("../../../install", import.meta.url))
const sample = fileURLToPath(new URL("../../../samples/basic-workspace.yaml", import.meta.url))
const roleNames = ["cartographer-workspace-editor", "cartographer-workspace-viewer"]
/** The aggregation controller runs in kube-controller-manager, which tier "api" does not start. */
const aggregates = () => sharedControlPlane().tier !== "api"

/** kubectl as ServiceAccount `name` of the namespace. */
const as = (kubeconfigPath: () => string) => (args: ReadonlyArray<string>, input?: string) =>
  runKubectl(sharedControlPlane().kubectlPath, kubeconfigPath(), args, input === undefined ? {} : { input })

const refused = (result: KubectlResult, what: RegExp) => {
  expect(result.code, result.stdout).not.toBe(0)
  expect(result.stderr).toMatch(/forbidden/u)
  expect(result.stderr).toMatch(what)
}

/** `kubectl patch` of the sample Workspace with a JSON merge patch. */
const mergePatch = (patch: unknown): ReadonlyArray<string> => [
  "patch",
  "workspace",
  "test-environment",
  "-n",
  namespace,
  "--type=merge",
  "-p",
  JSON.stringify(patch),
]

/** `kubectl get` of one field of the sample Workspace. */
const field = (jsonpath: string): ReadonlyArray<string> => [
  "get",
  "workspace",
  "test-environment",
  "-n",
  namespace,
  "-o",
  `jsonpath=${jsonpath}`,
]

let editorConfig = ""
let viewerConfig = ""
const editor = as(() => editorConfig)
const viewer = as(() => viewerConfig)

/** Whether the built-in ClusterRole `role` holds the install's rules for Workspaces yet. */
const aggregated = async (role: string, verb: string) => {
  const rules = JSON.parse((await admin(["get", "clusterrole", role, "-o", "jsonpath={.rules}"])) || "[]") as Array<{
    apiGroups?: Array<string>
    resources?: Array<string>
    verbs?: Array<string>
  }>
  return rules.some(
    (r) => r.apiGroups?.includes("mlops.aigency.com") && r.resources?.includes("workspaces") && r.verbs?.includes(verb),
  )
}

describe.skipIf(!aggregates())("the install's Workspace roles, aggregated into edit and view", () => {
  beforeAll(async () => {
    const cp = sharedControlPlane()
    editorConfig = (await cp.clientFor({ namespace, name: "editor" })).kubeconfigPath
    viewerConfig = (await cp.clientFor({ namespace, name: "viewer" })).kubeconfigPath
    await admin([
      "create",
      "rolebinding",
      "editors",
      "-n",
      namespace,
      "--clusterrole=edit",
      `--serviceaccount=${namespace}:editor`,
    ])
    await admin([
      "create",
      "rolebinding",
      "viewers",
      "-n",
      namespace,
      "--clusterrole=view",
      `--serviceaccount=${namespace}:viewer`,
    ])
    // Bound and authorised (the binding itself is honoured at once; the first request can race the RBAC cache).
    await pollUntil(
      "the bindings are honoured",
      async () => ((await viewer(["get", "pods", "-n", namespace])).code === 0 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 500 },
    )
  })

  afterAll(async () => {
    await kubectl(["delete", "clusterrole", ...roleNames, "--ignore-not-found"])
  })

  it("grants nothing on Workspaces through edit before the install's roles exist", async () => {
    expect(await aggregated("edit", "create")).toBe(false)
    refused(await editor(["apply", "-n", namespace, "-f", sample]), /workspaces/u)
  })

  it("are applied as `kubectl apply -k install` renders them, and kube-controller-manager aggregates them", async () => {
    const rendered = parseAllDocuments(await admin(["kustomize", install]))
      .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string; labels?: Record<string, string> } })
      .filter((d) => d.kind === "ClusterRole" && roleNames.includes(d.metadata?.name ?? ""))
    expect(rendered.map((d) => d.metadata?.name).sort()).toEqual(roleNames)
    expect(rendered.every((d) => d.metadata?.labels?.["app.kubernetes.io/part-of"] === "cartographer")).toBe(true)
    await admin(["apply", "-f", "-"], { input: rendered.map((d) => stringify(d)).join("---\n") })
    await pollUntil(
      "edit, admin and view hold the Workspace rules",
      async () =>
        (await aggregated("edit", "create")) &&
        (await aggregated("admin", "delete")) &&
        (await aggregated("view", "list"))
          ? true
          : undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    )
    expect(await aggregated("view", "create")).toBe(false)
  })

  it("let a user bound to edit create, change and delete Workspaces in that namespace", async () => {
    // The authorizer's cache follows the aggregated role within moments.
    await pollUntil(
      "the editor may create a Workspace",
      async () => ((await editor(["apply", "-n", namespace, "-f", sample])).code === 0 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 500 },
    )
    const patched = await editor(mergePatch({ spec: { workflows: { controllerReplicas: 2 } } }))
    expect(patched.code, patched.stderr).toBe(0)
    const listed = await editor(["get", "workspaces", "-n", namespace, "-o", "name"])
    expect(listed.stdout.trim()).toBe("workspace.mlops.aigency.com/test-environment")
    expect(await admin(field("{.spec.workflows.controllerReplicas}"))).toBe("2")
    const deleted = await editor(["delete", "workspace", "test-environment", "-n", namespace])
    expect(deleted.code, deleted.stderr).toBe(0)
    expect((await kubectl(["get", "workspace", "test-environment", "-n", namespace])).code).not.toBe(0)
  })

  it("do not let that user write a Workspace's status, which is the operator's, nor touch another namespace", async () => {
    expect((await editor(["apply", "-n", namespace, "-f", sample])).code).toBe(0)
    const forged = await editor([
      ...mergePatch({ status: { serverUrl: "http://forged.example/api" } }),
      "--subresource=status",
    ])
    refused(forged, /workspaces\/status/u)
    expect(await admin(field("{.status.serverUrl}"))).not.toBe("http://forged.example/api")
    // It may read the status, though.
    expect((await editor(["get", "workspace", "test-environment", "-n", namespace, "--subresource=status"])).code).toBe(
      0,
    )
    refused(await editor(["apply", "-n", elsewhere, "-f", sample]), new RegExp(`namespace "${elsewhere}"`, "u"))
  })

  it("let a user bound to view get and list Workspaces, and nothing more", async () => {
    const got = await viewer(field("{.metadata.name}"))
    expect(got.code, got.stderr).toBe(0)
    expect(got.stdout).toBe("test-environment")
    const listed = await viewer(["get", "workspaces", "-n", namespace, "-o", "name"])
    expect(listed.code, listed.stderr).toBe(0)
    expect((await viewer(["get", "workspace", "test-environment", "-n", namespace, "--subresource=status"])).code).toBe(
      0,
    )
    const own = (await readFile(sample, "utf8")).replace("name: test-environment", "name: viewers-own")
    refused(await viewer(["create", "-n", namespace, "-f", "-"], own), /cannot create resource "workspaces"/u)
    refused(await viewer(mergePatch({ metadata: { labels: { x: "y" } } })), /cannot patch resource "workspaces"/u)
    refused(
      await viewer(["delete", "workspace", "test-environment", "-n", namespace]),
      /cannot delete resource "workspaces"/u,
    )
  })
})
