/**
 * `@cartographer/reconciler`: the pure planner (`plan/`), and the engine that executes plans (`Engine`).
 */

export * as Engine from "./engine/Engine.js"
export { managedKindNames, managedKinds } from "./engine/ManagedKinds.js"
export { generatePassword } from "./password.js"
export type * from "./plan/kube.js"
export { labelKeys, managedBy } from "./plan/labels.js"
export { migrationHashAnnotation, migrationHashLabel } from "./plan/migration.js"
export { rbacName, serverUrl } from "./plan/names.js"
export {
  type JobState,
  type MigrationJobObservation,
  nothingObserved,
  type Observed,
  type PoolObservation,
  type ServerObservation,
  type WorkloadObservation,
} from "./plan/Observed.js"
export type { Plan, PruneSelector } from "./plan/Plan.js"
export { checkWorkspace, plan, planInvalid, planUnknown } from "./plan/planner.js"
export { type ExistingObject, neverPruned, pruneTargets } from "./plan/prune.js"
export { secretKeys } from "./plan/secrets.js"
export { type ApplyOutcome, convergedPlan, observeApplied } from "./plan/simulate.js"
export {
  type Decision,
  type DegradedReason,
  decideDegraded,
  decideProgressing,
  decideReady,
  type ExecutionProblem,
  type ProgressingReason,
  type ReadyReason,
  type Reason,
  type StatusFacts,
  withExecutionProblem,
} from "./plan/status.js"
