/**
 * `@cartographer/reconciler/testing`: what the suites that drive the engine or judge a cluster from outside need
 * beyond the public surface: the engine's fault injection points (`Faults`, provided as a test layer; production
 * never provides it), the annotation that records an applied intent, the labels of managed objects, and the
 * planner itself (the benchmark applies its output without the engine). Test support only: not built into `dist`.
 */
export { Faults, type FaultsShape, type WatchEventInfo, type Write } from "../src/engine/Faults.js"
export { intentAnnotation } from "../src/engine/NoOp.js"
export { labelKeys } from "../src/plan/labels.js"
export { plan } from "../src/plan/planner.js"
