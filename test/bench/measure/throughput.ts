// The pure parts' throughput, measured by the packages' own benchmark functions (one implementation each).
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

export interface PureThroughput {
  readonly planner: PlanThroughput & { readonly target: number }
  readonly validator: ValidatorThroughput & { readonly target: number }
}

export const measurePureThroughput = (options: { readonly quick?: boolean } = {}): PureThroughput => ({
  planner: {
    ...measurePlanThroughput(options.quick ? { seconds: 0.2, workspaces: 100 } : { seconds: 2 }),
    target: planTarget,
  },
  validator: {
    ...measureValidatorThroughput(options.quick ? { count: 100, rounds: 1 } : { count: 1000, rounds: 5 }),
    target: validatorTarget,
  },
})
