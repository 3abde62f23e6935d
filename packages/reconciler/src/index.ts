/**
 * `@cartographer/reconciler`: the pure planner (`plan/`), and the engine that executes plans (`Engine`). The operator
 * runs the engine; `cartographer plan` and `cartographer diff` run the planner through `convergedPlan`;
 * `cartographer uninstall` finds what the operator created by its labels.
 */

export * as Engine from "./engine/Engine.js"
export { managedKindNames, managedKinds, optionalKinds } from "./engine/ManagedKinds.js"
export { withIntent } from "./engine/NoOp.js"
export { generatePassword, generateSecrets } from "./password.js"
export type { ManagedKind, ManagedObject } from "./plan/kube.js"
export { labelKeys, managedBy } from "./plan/labels.js"
export { type GeneratedSecrets, nothingObserved, type Observed } from "./plan/Observed.js"
export type { Plan } from "./plan/Plan.js"
export { type ExistingObject, pruneTargets } from "./plan/prune.js"
export { secretKeys } from "./plan/secrets.js"
export { convergedPlan } from "./plan/simulate.js"
