// `npm run bench` (through test/local/run-ts.mjs): the repository benchmark at full size, see run.ts and README.md.
//
// Options: --workspaces N (1000) --concurrency C (4) --resync-seconds S (N/50, at least 75) --idle-seconds I (60)
// --drift D (100) --out DIR (test/bench/results) --skip-operator --no-ceiling-after --quick (shorter
// planner/validator runs).
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { runBench } from "./run.js"

const { values } = parseArgs({
  options: {
    workspaces: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "4" },
    "resync-seconds": { type: "string" },
    "idle-seconds": { type: "string", default: "60" },
    "no-ceiling-after": { type: "boolean", default: false },
    drift: { type: "string", default: "100" },
    out: { type: "string", default: join(fileURLToPath(new URL(".", import.meta.url)), "results") },
    "skip-operator": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
  },
})
const positive = (name: string, value: string | undefined): number => {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, not ${value}`)
  return n
}

try {
  const workspaces = positive("workspaces", values.workspaces)
  // A resync must have time to pass over every Workspace before the next one starts, and the operator must rest
  // a minute before the first one (its memory "after 60 s idle").
  const resyncSeconds = positive(
    "resync-seconds",
    values["resync-seconds"] ?? String(Math.max(75, Math.ceil(workspaces / 50))),
  )
  const { markdown } = await runBench({
    workspaces,
    concurrency: positive("concurrency", values.concurrency),
    resyncSeconds,
    idleSeconds: positive("idle-seconds", values["idle-seconds"]),
    driftDeletions: positive("drift", values.drift),
    ceilingAfter: !values["no-ceiling-after"],
    out: values.out,
    skipOperator: values["skip-operator"],
    quick: values.quick,
    log: (line) => process.stderr.write(`[bench] ${line}\n`),
  })
  process.stdout.write(markdown)
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exitCode = 1
}
