// The real control plane harness for Cartographer's tests. See test/controlplane/ and
// docs/adr/0001-control-plane-versions.md.
export { type AuditEvent, type AuditFilter, auditSentinel, mutatingVerbs, readAudit } from "./audit.js"
export { type Binaries, type BinaryName, findBinaries } from "./binaries.js"
export type { RealNodeInfo, SharedControlPlaneInfo } from "./context.js"
export { kubeconfigEnv } from "./context.js"
export {
  adminUser,
  type ControlPlane,
  type ControlPlaneOptions,
  type CrdFailure,
  type ProcessStats,
  startControlPlane,
  type Tier,
} from "./controlPlane.js"
export { effectSuite, type SuiteTest } from "./effectSuite.js"
export { fakeNodeAnnotation } from "./fakeNodes.js"
export { gatewayApiModule, installHttpRouteCrd } from "./gatewayApi.js"
export { ApiError, type KubeApi, makeKubeApi, type WatchEvent } from "./kubeApi.js"
export { loadKubeConfig } from "./kubeconfig.js"
export { type KubectlOptions, type KubectlResult, kubectlOk, runKubectl } from "./kubectl.js"
export { freePort } from "./network.js"
export {
  type IdentityAccess,
  type OperatorIdentity,
  type OperatorIdentityOptions,
  operatorClusterRolePath,
  operatorIdentity,
  operatorRuntimeArgs,
  operatorRuntimeEnv,
} from "./operatorIdentity.js"
export { eventually, type PollOptions, pollUntil } from "./poll.js"
export {
  ownedTempDir,
  type RunOptions,
  type RunResult,
  run,
  type StartedProcess,
  type StartOptions,
  start,
} from "./processes.js"
export { type Release, type ReleaseOptions, runRelease, unpackRelease } from "./release.js"
export type { ServiceAccountClient, ServiceAccountRef } from "./serviceAccounts.js"
export { namespacedTestCrd, type TestKind } from "./testCrd.js"
export {
  auditedRequests,
  auditSettled,
  describeOnRealNode,
  kubectl,
  kubectlStdout,
  placeOnRealNode,
  realNode,
  type SharedControlPlane,
  sharedControlPlane,
  useNamespace,
  useRealNode,
  useRealNodeTurn,
} from "./testing.js"
export { type PreboundVolume, preboundVolume } from "./volumes.js"
