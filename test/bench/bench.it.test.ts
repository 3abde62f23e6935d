// The benchmark (`npm run bench`, test/bench/run.ts) at a smoke size, so that the default test run keeps it working
// and checks the behaviours it measures that are not timings: the shipped `cartographer run` converges, a converged
// set costs no write on resyncs or on a restart, and every deleted child comes back. Timings are reported, never
// asserted (2 shared cores: noisy).
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { BenchReport } from "./report.js"
import { runBench } from "./run.js"

const out = mkdtempSync(join(tmpdir(), "cartographer-bench-smoke-"))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe("the benchmark at smoke size (10 Workspaces)", () => {
  it("reports the ceiling, the operator's convergence, zero writes at rest and repaired drift, as JSON and markdown", async () => {
    const { report, markdown, profile } = await runBench({
      workspaces: 10,
      concurrency: 4,
      resyncSeconds: 5,
      idleSeconds: 3,
      driftDeletions: 5,
      ceilingAfter: true,
      out,
      skipOperator: false,
      quick: true,
      log: (line) => process.stderr.write(`[bench smoke] ${line}\n`),
    })
    const written = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as BenchReport
    expect(written.parameters.workspaces).toBe(10)
    expect(readFileSync(join(out, "latest.md"), "utf8")).toBe(markdown)
    expect(report.ceiling.writes).toBeGreaterThan(10)
    if ("skipped" in report.operator) throw new Error(`operator measurements skipped: ${report.operator.skipped}`)
    const o = report.operator
    expect(o.converge.writes).toBeGreaterThanOrEqual(o.converge.objects)
    expect(o.coldStart.writesAfterRestart, "a restarted operator rewrote converged objects").toBe(0)
    expect(
      o.atRest.passes.reduce((sum, p) => sum + p.reconciles, 0),
      "no resync happened",
    ).toBeGreaterThanOrEqual(3 * 10)
    expect(o.atRest.mutatingByKind, "writes at rest").toEqual({})
    // The shipped process was measured: its Lease renewals are seen and set apart, its memory read.
    expect(o.atRest.leaseWrites).toBeGreaterThan(0)
    expect(o.drift).toMatchObject({ deletions: 5, unrepaired: 0 })
    // Each slow repair says what the operator did meanwhile: at least the run of its Workspace that repaired it, and
    // the event loop's worst block from a report covering it (an idle loop reports about its 10 ms resolution).
    for (const repair of o.drift.slowest) {
      expect(repair.runs.length, `${repair.kind} ${repair.name}: no run of its Workspace`).toBeGreaterThan(0)
      expect(repair.loopDelayMaxMs, `${repair.kind} ${repair.name}: no event-loop report`).toBeGreaterThan(0)
    }
    expect(o.memory.rested.rssMiB).toBeGreaterThan(o.memory.rested.fileMiB)
    expect(o.memory.idle.rssMiB).toBeGreaterThan(0)
    // The CPU profile of the convergence is kept, complete (it parses and has samples), and summarised.
    expect(profile?.busySeconds, "no CPU profile of the convergence").toBeGreaterThan(0)
    expect(statSync(join(out, "operator-converge.cpuprofile")).size).toBeGreaterThan(0)
    // Its samples are mapped back to the modules they ran in (the bundle's source map), not to one line of it.
    const areas = profile?.areas.map((a) => a.area) ?? []
    expect(areas).toContain("effect (fibers, Schema, streams)")
    expect(areas).toContain("engine (queue, no-op checks, execution)")
  }, 600_000)
})
