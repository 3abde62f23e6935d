/**
 * Planning throughput over generated Workspaces, as a function that returns the figures: used by `plan.bench.ts`
 * (prints them) and by the repository benchmark `test/bench/run.ts` (reports them with the other measurements).
 *
 * 1,000 Workspaces (by default) are generated (with `@cartographer/schema/testing`) and decoded through the Schema; each iteration plans the
 * next one. Two cases: a resync (the children exist: the common case) and a new Workspace (nothing observed).
 */

import { workspace } from "@cartographer/schema/testing"
import fc from "fast-check"
import { nothingObserved, type Observed } from "../src/index.js"
import { plan } from "../src/plan/planner.js"
import { observeApplied } from "../src/plan/simulate.js"

export interface PlanThroughputCase {
  readonly name: string
  readonly plansPerSecond: number
  readonly objectsPerPlan: number
}

export interface PlanThroughput {
  readonly resync: PlanThroughputCase
  readonly newWorkspace: PlanThroughputCase
}

/** The planner's target on a 2-core machine (plans/s, worst case). */
export const planTarget = 20_000

export const measurePlanThroughput = (
  options: { readonly seconds?: number; readonly workspaces?: number } = {},
): PlanThroughput => {
  const seconds = options.seconds ?? 2
  const size = options.workspaces ?? 1000
  const inputs = {
    now: "2025-01-01T00:00:00Z",
    generatedPassword: "bench-password",
    generatedSecrets: { apiAuthPassword: "bench-auth", redisPassword: "bench-redis" },
  }
  const workspaces = fc.sample(workspace(), { numRuns: size, seed: 42 })
  const settled: Array<Observed> = workspaces.map((ws) =>
    observeApplied(plan(ws, nothingObserved(inputs)), { ...inputs, migration: "succeeded" }),
  )
  const empty = nothingObserved(inputs)

  const measure = (name: string, observedFor: (k: number) => Observed): PlanThroughputCase => {
    // Warm-up, so the JIT has compiled the planner before measuring.
    for (let k = 0; k < 20_000; k++) plan(workspaces[k % size]!, observedFor(k % size))
    let count = 0
    let objects = 0
    const start = performance.now()
    const end = start + seconds * 1000
    while (performance.now() < end) {
      for (let k = 0; k < size; k++) objects += plan(workspaces[k]!, observedFor(k)).apply.length
      count += size
    }
    return { name, plansPerSecond: count / ((performance.now() - start) / 1000), objectsPerPlan: objects / count }
  }

  return {
    resync: measure("resync (children observed)", (k) => settled[k]!),
    newWorkspace: measure("new Workspace (nothing observed)", () => empty),
  }
}
