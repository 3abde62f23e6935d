/**
 * `@cartographer/k8s`: Effect services over the Kubernetes API. Nothing else in the repository imports
 * `@kubernetes/client-node`.
 */
export * as EventRecorder from "./EventRecorder.js"
export * from "./K8sError.js"
export { type Access, Kinds, type ResourceKind, resourceKind } from "./Kinds.js"
export {
  type ApplyOptions,
  type DeleteOptions,
  KubeClient,
  type KubeClientOptions,
  type KubeClientShape,
  KubeConfigError,
  type ListOptions,
  type ListResult,
  type RawWatchEvent,
  type WatchRequest,
  type WriteOptions,
} from "./KubeClient.js"
export { type KubeObject, type Live, type ObjectRef, objectKey } from "./KubeObject.js"
export * as LeaderElection from "./LeaderElection.js"
export * as Watch from "./Watch.js"
