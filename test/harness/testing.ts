// Test-side helpers for the run's shared control plane (started by globalSetup.ts): the admin client,
// ServiceAccount clients, kubectl, and a namespace per suite.
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { ApiException, CoreV1Api, type KubeConfig } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, inject, it } from "vitest"
import { realNodeTaint } from "../node/kubelet.js"
import { type Lock, lock } from "../node/locks.js"
import { type AuditEvent, type AuditFilter, auditSentinel, readAudit } from "./audit.js"
import type { RealNodeInfo, SharedControlPlaneInfo } from "./context.js"
import { loadKubeConfig } from "./kubeconfig.js"
import { type KubectlOptions, type KubectlResult, kubectlOk, runKubectl } from "./kubectl.js"
import { pollUntil } from "./poll.js"
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

/** `kubectl` as the admin that must succeed: resolves with its stdout, rejects with its message otherwise. */
export const kubectlStdout = (args: ReadonlyArray<string>, options: KubectlOptions = {}): Promise<string> => {
  const { kubectlPath, kubeconfigPath } = sharedControlPlane()
  return kubectlOk(kubectlPath, kubeconfigPath, args, options)
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

/**
 * A suite whose pods must really run (tier "node"). Without a real node it fails with one line saying why; it is
 * skipped instead only when the run chose a tier without one (CARTOGRAPHER_TEST_TIER) outside CI (CI=true).
 */
export const describeOnRealNode = (name: string, suite: () => void): void => {
  const info = inject("cartographerControlPlane")
  if (info?.realNode !== undefined) {
    describe(name, suite)
    return
  }
  const reason = info?.realNodeUnavailable ?? "no shared control plane"
  const chosen = info !== undefined && process.env.CARTOGRAPHER_TEST_TIER !== undefined
  if (chosen && process.env.CI !== "true") {
    describe.skip(`${name} [skipped: ${reason}]`, suite)
    return
  }
  describe(name, () => {
    it("needs the real node", () => {
      throw new Error(reason)
    })
  })
}

/** The run's real node; only inside `describeOnRealNode`. */
export const realNode = (): RealNodeInfo => {
  const node = sharedControlPlane().realNode
  if (node === undefined) throw new Error("this run has no real node: use describeOnRealNode")
  return node
}

/**
 * Sends every pod of `namespace` to the real node (PodNodeSelector and PodTolerationRestriction annotations, which the
 * harness's API server enables), Jobs and pods other controllers create included. Call after `useNamespace`.
 *
 * `exclusive`: the suite runs whole Workspaces, and the node (2 cores here) has room for one at a time; suites that
 * ask for it take turns (a lock across the run's test files), waiting up to `waitMinutes` (default 60). A turn ends
 * once the suite's namespace is deleted and the node runs no pod of a namespace being deleted: the next suite's pods
 * must not wait for room the last one's terminating pods still hold.
 */
export const useRealNode = (namespace: string, options: { exclusive?: boolean; waitMinutes?: number } = {}): void => {
  if (options.exclusive) useRealNodeTurn(options.waitMinutes, namespace)
  beforeAll(() => placeOnRealNode(namespace))
}

/**
 * The real node's turn for a suite that runs a whole Workspace (on this node or on a cluster of its own, such as
 * `npm start`'s): such suites take turns, since the machine has room for about one at a time.
 */
export const useRealNodeTurn = (waitMinutes = 60, namespace?: string): void => {
  let held: Lock | undefined
  beforeAll(
    async () => {
      held = await lock(join(realNode().dir, "workspace-suite.lock"), waitMinutes * 60_000)
    },
    (waitMinutes + 1) * 60_000,
  )
  afterAll(
    async () => {
      try {
        if (namespace !== undefined && held !== undefined) await vacated(namespace)
      } finally {
        await held?.release()
      }
    },
    drainMinutes * 60_000 + 30_000,
  )
}

/** How long a turn's end waits for terminating pods to leave the node before it gives the turn up anyway. */
const drainMinutes = 3

/** Deletes `namespace` and waits until the real node runs no pod of any namespace being deleted. */
const vacated = async (namespace: string): Promise<void> => {
  await kubectl(["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"])
  const leaving = async () => {
    const terminating = new Set(
      (
        await kubectlStdout([
          "get",
          "namespaces",
          "-o",
          "jsonpath={range .items[?(@.status.phase=='Terminating')]}{.metadata.name}{'\\n'}{end}",
        ])
      )
        .split("\n")
        .filter((name) => name !== ""),
    )
    const pods = await kubectlStdout([
      "get",
      "pods",
      "--all-namespaces",
      "--field-selector",
      `spec.nodeName=${realNode().name}`,
      "-o",
      "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{'\\n'}{end}",
    ])
    return pods.split("\n").filter((pod) => terminating.has(pod.split("/")[0] ?? ""))
  }
  await pollUntil(
    "the node runs no pod of a deleted namespace",
    async () => ((await leaving()).length === 0 ? true : undefined),
    { timeoutMs: drainMinutes * 60_000, intervalMs: 2_000, describe: async () => (await leaving()).join(", ") },
  ).catch((error: Error) => {
    // The next suite may still find room; its own diagnostics say so if not.
    console.warn(`[node] ${error.message}`)
  })
}

/** The namespace annotations of useRealNode, for namespaces a suite creates itself. */
export const placeOnRealNode = async (namespace: string): Promise<void> => {
  const tolerations = [
    { key: realNodeTaint.key, operator: "Equal", value: realNodeTaint.value, effect: realNodeTaint.effect },
  ]
  const annotated = await kubectl([
    "annotate",
    "--overwrite",
    "namespace",
    namespace,
    `scheduler.alpha.kubernetes.io/node-selector=kubernetes.io/hostname=${realNode().name}`,
    `scheduler.alpha.kubernetes.io/defaultTolerations=${JSON.stringify(tolerations)}`,
  ])
  if (annotated.code !== 0) throw new Error(`annotating namespace ${namespace}: ${annotated.stderr}`)
}

/** `auditSentinel` on the run's control plane: afterwards its audit log holds every request completed before. */
export const auditSettled = (): Promise<void> => {
  const core = sharedControlPlane().kubeConfig.makeApiClient(CoreV1Api)
  return auditSentinel(sharedControlPlane().auditLogPath, ({ name }) =>
    core.readNamespacedConfigMap({ namespace: "default", name }).catch(() => undefined),
  )
}

/** The requests of the run's audit log that `filter` matches, once it holds every request completed before the call. */
export const auditedRequests = async (filter: AuditFilter): Promise<ReadonlyArray<AuditEvent>> => {
  await auditSettled()
  return readAudit(sharedControlPlane().auditLogPath, filter)
}
