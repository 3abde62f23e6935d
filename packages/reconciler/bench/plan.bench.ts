/**
 * Planning throughput over generated Workspaces; target ≥ 20,000 plans/s.
 * Run: `npm run bench -w @cartographer/reconciler` (Node 24 runs the TypeScript sources directly).
 *
 * 1,000 Workspaces are generated (with the tests' arbitraries) and decoded through the Schema; each iteration plans the
 * next one. Two cases: a resync (the children exist: the common case) and a new Workspace (nothing observed).
 */
import fc from "fast-check"
import { nothingObserved, type Observed, observeApplied, plan } from "../src/index.js"
import { workspace } from "../test/arbitraries.js"

const inputs = { now: "2025-01-01T00:00:00Z", generatedPassword: "bench-password" }
const workspaces = fc.sample(workspace(), { numRuns: 1000, seed: 42 })
const settled: Array<Observed> = workspaces.map((ws) =>
  observeApplied(plan(ws, nothingObserved(inputs)), { ...inputs, migration: "succeeded" }),
)
const empty = nothingObserved(inputs)

const measure = (name: string, observedFor: (k: number) => Observed, seconds = 2): number => {
  // Warm-up, so the JIT has compiled the planner before measuring.
  for (let k = 0; k < 20_000; k++) plan(workspaces[k % 1000]!, observedFor(k % 1000))
  let count = 0
  let objects = 0
  const start = performance.now()
  const end = start + seconds * 1000
  while (performance.now() < end) {
    for (let k = 0; k < 1000; k++) objects += plan(workspaces[k]!, observedFor(k)).apply.length
    count += 1000
  }
  const perSecond = count / ((performance.now() - start) / 1000)
  console.log(
    `${name.padEnd(36)} ${Math.round(perSecond).toLocaleString("en-US").padStart(10)} plans/s` +
      `  (${(objects / count).toFixed(1)} objects per plan)`,
  )
  return perSecond
}

const target = 20_000
const results = [
  measure("resync (children observed)", (k) => settled[k]!),
  measure("new Workspace (nothing observed)", () => empty),
]
const worst = Math.min(...results)
console.log(worst >= target ? `OK: ≥ ${target.toLocaleString("en-US")} plans/s` : `BELOW TARGET of ${target} plans/s`)
process.exitCode = worst >= target ? 0 : 1
