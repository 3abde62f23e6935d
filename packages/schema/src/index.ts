/**
 * `@cartographer/schema`: the Workspace resource as one Effect Schema, and what is derived from it. Documented for
 * users (README): `validateWorkspace`, `decodeWorkspace` and its `WorkspaceValidationError`, `parseDocuments`. The
 * rest serves the planner, the engine, the CLI and the generators of the CRD and the configuration reference.
 */

export type { LastBackup } from "./Backup.js"
export { type BasicAuth, defaultAuthStringKey } from "./BasicAuth.js"
export { EnvVar } from "./Container.js"
export { workspaceCrd, workspaceJsonSchema } from "./crd.js"
export { defaultMaxUnavailable } from "./Disruption.js"
export { defaultUiApiUrl } from "./defaults.js"
export { parseDocuments, type SourceDocument, toYaml, toYamlStream } from "./documents.js"
export type { HttpRoute, Ingress } from "./Exposure.js"
export * as Defaults from "./images.js"
export type { JobTemplate } from "./JobTemplate.js"
export { cartographerVolumes, type EnvFromSource, type Volume, type VolumeMount } from "./Mounts.js"
export * as Names from "./Names.js"
export { quantityValue } from "./Quantity.js"
export type { ExternalRedis, RedisSpec } from "./Redis.js"
export { Resources } from "./Resources.js"
export type { RestoreFrom } from "./Restore.js"
export type { Retention } from "./Retention.js"
export {
  type Affinity,
  type LabelSelector,
  type Placement,
  reservedLabelKeys,
  reservedLabelPrefix,
  type Toleration,
  type TopologySpreadConstraint,
} from "./Scheduling.js"
export {
  decodeWorkspace,
  type ValidateOptions,
  type ValidationIssue,
  type ValidationResult,
  validateWorkspace,
  WorkspaceValidationError,
} from "./validate.js"
export { AgentPool, apiVersion, kind, Workflows, Workspace } from "./Workspace.js"
export { Condition, ConditionStatus, ConditionType, PoolStatus, WorkspaceStatus } from "./WorkspaceStatus.js"
