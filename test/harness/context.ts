// What the global setup hands to test workers through vitest's provide/inject (plain data only: workers are
// other processes, so the control plane's methods stay with the process that started it).
import type { Tier } from "./binaries.js"

export interface SharedControlPlaneInfo {
  readonly tier: Tier
  readonly apiServerUrl: string
  /** Admin kubeconfig (system:masters). */
  readonly kubeconfigPath: string
  readonly kubectlPath: string
  readonly binDir: string
  readonly auditLogPath: string
  readonly caFile: string
  readonly workDir: string
  readonly nodeNames: ReadonlyArray<string>
  /** Tier "node": the real node (see test/node and useRealNode). */
  readonly realNode?: RealNodeInfo
  /** Why this run has no real node, in one line (what the machine lacks, or the tier chosen). */
  readonly realNodeUnavailable?: string
  /** The CRD manifests from install/crd/ that the global setup applied before the tests started. */
  readonly crds: ReadonlyArray<string>
  /** Those of them the API server rejected or did not establish: the proof tests fail with this message. */
  readonly crdFailures: ReadonlyArray<{ readonly file: string; readonly message: string }>
}

export interface RealNodeInfo {
  readonly name: string
  readonly nodeIp: string
  /** The host's end of the node's link: the only address outside the node its traffic could be routed to. */
  readonly hostIp: string
  readonly podCidr: string
  /** The node's directory: its components' logs are in `logs/`, pod logs in `var/log/pods/`. */
  readonly dir: string
}

declare module "vitest" {
  export interface ProvidedContext {
    cartographerControlPlane: SharedControlPlaneInfo
  }
}

/** Also exported to the environment, for tools and child processes that are not vitest workers. */
export const kubeconfigEnv = "KUBECONFIG_CARTOGRAPHER_TEST"
