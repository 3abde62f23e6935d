// A private control plane for one benchmark or chaos run (tier "api": etcd + kube-apiserver, no pods), with the
// Workspace CRD, a bare admin client, and the operator's identity: ServiceAccount `cartographer` in
// `cartographer-system` with the shipped ClusterRole and leader-election Role, so that everything the operator
// does is attributable in the audit log to one username and runs with exactly the shipped RBAC.
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import {
  type ControlPlane,
  type OperatorIdentity,
  operatorIdentity,
  startControlPlane,
} from "@cartographer/test/harness"
import { parse } from "yaml"
import { type RawApi, rawApi } from "./rawApi.js"
import { createNamespace } from "./setup.js"

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url))
export const operatorNamespace = "cartographer-system"

export interface BenchCluster {
  readonly controlPlane: ControlPlane
  /** Admin, bare. */
  readonly api: RawApi
  readonly operator: OperatorIdentity
  stop(): Promise<void>
}

/** The CRD files of install/crd, as the cluster installs them. */
export const crdFiles = async (): Promise<ReadonlyArray<string>> => {
  const dir = join(repoRoot, "install", "crd")
  return (await readdir(dir)).filter((f) => f.endsWith(".yaml")).map((f) => join(dir, f))
}

/** Applies a namespaced manifest from install/ as it is (server-side apply, as `kubectl apply --server-side`). */
const applyManifest = async (api: RawApi, file: string, collection: string): Promise<void> => {
  const object = parse(await readFile(join(repoRoot, file), "utf8")) as { metadata: { name: string } }
  const response = await api.send({
    method: "PATCH",
    path: `${collection}/${object.metadata.name}`,
    query: { fieldManager: "cartographer-bench", force: "true" },
    body: object,
    contentType: "application/apply-patch+yaml",
  })
  if (response.status >= 300) throw new Error(`apply ${file}: HTTP ${response.status} ${response.body.slice(0, 300)}`)
}

export const startBenchCluster = async (options: { readonly maxSockets?: number } = {}): Promise<BenchCluster> => {
  const controlPlane = await startControlPlane({ tier: "api", crds: await crdFiles() })
  try {
    const api = await rawApi(controlPlane.kubeConfig, { maxSockets: options.maxSockets ?? 16 })
    await createNamespace(api, operatorNamespace)
    const operator = await operatorIdentity(operatorNamespace, { access: controlPlane })
    const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${operatorNamespace}`
    await applyManifest(api, "install/rbac/leader-election-role.yaml", `${rbac}/roles`)
    await applyManifest(api, "install/rbac/leader-election-role-binding.yaml", `${rbac}/rolebindings`)
    return {
      controlPlane,
      api,
      operator,
      stop: async () => {
        api.close()
        await controlPlane.stop()
      },
    }
  } catch (error) {
    await controlPlane.stop()
    throw error
  }
}
