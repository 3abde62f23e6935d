// Test-side helpers for the run's shared control plane (started by globalSetup.ts): the admin client,
// ServiceAccount clients, kubectl, and a namespace per suite.
import { randomBytes } from "node:crypto"
import { ApiException, CoreV1Api, type KubeConfig } from "@kubernetes/client-node"
import { afterAll, beforeAll, inject } from "vitest"
import { auditSentinel } from "./audit.js"
import type { SharedControlPlaneInfo } from "./context.js"
import { loadKubeConfig } from "./kubeconfig.js"
import { type KubectlOptions, type KubectlResult, runKubectl } from "./kubectl.js"
import { type ServiceAccountClient, type ServiceAccountRef, serviceAccountClient } from "./serviceAccounts.js"

export interface SharedControlPlane extends SharedControlPlaneInfo {
  /** Admin client configuration (system:masters). */
  readonly kubeConfig: KubeConfig
  clientFor(serviceAccount: ServiceAccountRef): Promise<ServiceAccountClient>
}

let cached: SharedControlPlane | undefined

/** The control plane of this test run. */
export const sharedControlPlane = (): SharedControlPlane => {
  if (cached) return cached
  const info = inject("cartographerControlPlane")
  if (!info) throw new Error("no shared control plane: run this file in vitest's `integration` project")
  const kubeConfig = loadKubeConfig(info.kubeconfigPath)
  const access = { admin: kubeConfig, apiServerUrl: info.apiServerUrl, caFile: info.caFile, workDir: info.workDir }
  cached = { ...info, kubeConfig, clientFor: (sa) => serviceAccountClient(access, sa) }
  return cached
}

/** kubectl (the control plane's version) as the admin; resolves with the exit code and output, even on failure. */
export const kubectl = (args: ReadonlyArray<string>, options: KubectlOptions = {}): Promise<KubectlResult> => {
  const { kubectlPath, kubeconfigPath } = sharedControlPlane()
  return runKubectl(kubectlPath, kubeconfigPath, args, options)
}

/**
 * A namespace of its own for the calling suite: `<prefix>-<random>`, created in beforeAll and deleted in
 * afterAll (without waiting: in tier "api" no namespace controller ever finishes the deletion).
 */
export const useNamespace = (prefix: string): string => {
  const base =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-")
      .slice(0, 50)
      .replace(/^-+|-+$/g, "") || "test"
  const name = `${base}-${randomBytes(4).toString("hex")}`
  beforeAll(async () => {
    const core = sharedControlPlane().kubeConfig.makeApiClient(CoreV1Api)
    await core.createNamespace({ body: { metadata: { name, labels: { "cartographer.test/suite": base } } } })
  })
  afterAll(async () => {
    const core = sharedControlPlane().kubeConfig.makeApiClient(CoreV1Api)
    try {
      await core.deleteNamespace({ name, propagationPolicy: "Background" })
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404)) throw error
    }
  })
  return name
}

/** `auditSentinel` on the run's control plane: afterwards its audit log holds every request completed before. */
export const auditSettled = (): Promise<void> => {
  const core = sharedControlPlane().kubeConfig.makeApiClient(CoreV1Api)
  return auditSentinel(sharedControlPlane().auditLogPath, ({ name }) =>
    core.readNamespacedConfigMap({ namespace: "default", name }).catch(() => undefined),
  )
}
