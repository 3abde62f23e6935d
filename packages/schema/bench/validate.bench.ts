/**
 * Validator throughput (see `validateThroughput.ts`): 1,000 generated files, 5 timed rounds after a warm-up, reported as
 * files/s; the target is ≥ 1,000 files/s on a 2-core machine. Run with `npm run bench -w @cartographer/schema`. Not a
 * test: nothing here asserts a time. The repository benchmark (`test/bench/run.ts`) reports the same figure.
 */
import { it } from "vitest"
import { measureValidatorThroughput } from "./validateThroughput.js"

it("validates 1000 generated files (read + parse + validate), 5 timed rounds after a warm-up", () => {
  console.log(JSON.stringify({ benchmark: "validator", ...measureValidatorThroughput({ count: 1000, rounds: 5 }) }))
})
