/**
 * Planning throughput over generated Workspaces, against `planTarget` of `planThroughput.ts`.
 * Run: `npm run bench -w @cartographer/reconciler` (Node 24 runs the TypeScript sources directly). The repository
 * benchmark (`test/bench/run.ts`) reports the same figures.
 */
import { measurePlanThroughput, planTarget } from "./planThroughput.js"

const { resync, newWorkspace } = measurePlanThroughput()
for (const c of [resync, newWorkspace]) {
  console.log(
    `${c.name.padEnd(36)} ${Math.round(c.plansPerSecond).toLocaleString("en-US").padStart(10)} plans/s` +
      `  (${c.objectsPerPlan.toFixed(1)} objects per plan)`,
  )
}
const worst = Math.min(resync.plansPerSecond, newWorkspace.plansPerSecond)
console.log(
  worst >= planTarget ? `OK: ≥ ${planTarget.toLocaleString("en-US")} plans/s` : `BELOW TARGET of ${planTarget} plans/s`,
)
process.exitCode = worst >= planTarget ? 0 : 1
