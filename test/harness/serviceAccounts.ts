// Clients that act as a ServiceAccount, with a real token from the TokenRequest API: code under test then runs
// with exactly the RBAC its manifests grant, not as the admin.
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { ApiException, CoreV1Api, type KubeConfig } from "@kubernetes/client-node"
import { writeKubeconfig } from "./kubeconfig.js"

export interface ServiceAccountRef {
  readonly namespace: string
  readonly name: string
}

export interface ServiceAccountClient {
  readonly kubeConfig: KubeConfig
  readonly kubeconfigPath: string
  readonly token: string
}

export interface ClusterAccess {
  readonly admin: KubeConfig
  readonly apiServerUrl: string
  readonly caFile: string
  /** Where the ServiceAccount kubeconfigs go (removed with the control plane's temp dir). */
  readonly workDir: string
}

/** Creates the ServiceAccount if it does not exist (its namespace must), then a one-day token for it. */
export const serviceAccountClient = async (
  access: ClusterAccess,
  sa: ServiceAccountRef,
): Promise<ServiceAccountClient> => {
  const core = access.admin.makeApiClient(CoreV1Api)
  try {
    await core.createNamespacedServiceAccount({ namespace: sa.namespace, body: { metadata: { name: sa.name } } })
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 409)) throw error
  }
  const request = await core.createNamespacedServiceAccountToken({
    namespace: sa.namespace,
    name: sa.name,
    body: { spec: { audiences: [], expirationSeconds: 86_400 } },
  })
  const token = request.status?.token
  if (!token) throw new Error(`TokenRequest for ${sa.namespace}/${sa.name} returned no token`)
  const dir = join(access.workDir, "serviceaccounts")
  await mkdir(dir, { recursive: true })
  const kubeconfigPath = join(dir, `${sa.namespace}.${sa.name}.kubeconfig`)
  const user = `system:serviceaccount:${sa.namespace}:${sa.name}`
  const kubeConfig = await writeKubeconfig(kubeconfigPath, access.apiServerUrl, access.caFile, user, { token })
  return { kubeConfig, kubeconfigPath, token }
}
