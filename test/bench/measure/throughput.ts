// The pure parts' throughput, measured by the packages' own benchmark functions (one implementation each), next to a
// fixed CPU reference measured in the same run: the same JSON document parsed and written again in a loop. Shared
// machines differ several-fold from day to day; the planner's and validator's figures divided by the reference
// compare across runs and machines where the absolute ones do not.
import {
  measurePlanThroughput,
  type PlanThroughput,
  planTarget,
} from "../../../packages/reconciler/bench/planThroughput.js"
import {
  measureValidatorThroughput,
  type ValidatorThroughput,
  validatorTarget,
} from "../../../packages/schema/bench/validateThroughput.js"
import { benchWorkspaces } from "../support/benchWorkspaces.js"
import { firstPlan } from "./ceiling.js"

export interface CpuReference {
  /** What is parsed and written: the objects planned for the first five benchmark Workspaces (one per sample). */
  readonly document: string
  readonly bytes: number
  /** `JSON.parse` then `JSON.stringify` of that text, per second. */
  readonly roundTripsPerSecond: number
}

export interface PureThroughput {
  readonly reference: CpuReference
  readonly planner: PlanThroughput & { readonly target: number; readonly resyncPerReference: number }
  readonly validator: ValidatorThroughput & { readonly target: number; readonly filesPerReference: number }
}

/** The fixed reference: a JSON round trip of the planner's objects for the five samples, for `seconds`. */
export const measureCpuReference = (seconds: number): CpuReference => {
  const live = benchWorkspaces(5, "reference").map((w, i) => ({
    ...w,
    metadata: { ...w.metadata, uid: `00000000-0000-0000-0000-00000000000${i}`, generation: 1 },
  }))
  const text = JSON.stringify(live.map((w) => firstPlan(w).apply))
  for (let i = 0; i < 200; i++) JSON.stringify(JSON.parse(text))
  let count = 0
  const start = performance.now()
  const end = start + seconds * 1000
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) JSON.stringify(JSON.parse(text))
    count += 100
  }
  return {
    document: "the objects planned for the five samples",
    bytes: text.length,
    roundTripsPerSecond: count / ((performance.now() - start) / 1000),
  }
}

export const measurePureThroughput = (options: { readonly quick?: boolean } = {}): PureThroughput => {
  const reference = measureCpuReference(options.quick ? 0.5 : 3)
  const planner = measurePlanThroughput(options.quick ? { seconds: 0.2, workspaces: 100 } : { seconds: 2 })
  const validator = measureValidatorThroughput(options.quick ? { count: 100, rounds: 1 } : { count: 1000, rounds: 5 })
  return {
    reference,
    planner: {
      ...planner,
      target: planTarget,
      resyncPerReference: planner.resync.plansPerSecond / reference.roundTripsPerSecond,
    },
    validator: {
      ...validator,
      target: validatorTarget,
      filesPerReference: validator.filesPerSecond / reference.roundTripsPerSecond,
    },
  }
}
