// `npm run bench`: the repository benchmark. One private control plane (tier "api": etcd + kube-apiserver, a clean
// audit log), then, in one run:
//   - the API server's ceiling for the operator's writes (bare client, same objects, same concurrency);
//   - the operator converging N Workspaces (ratio to the ceiling), cold start, three resyncs (writes), drift repair
//     latency, memory, with a CPU profile of the convergence;
//   - planner plans/s and validator files/s (the packages' own benchmark functions).
// Writes <out>/latest.json, <out>/latest.md and <out>/operator-converge.cpuprofile.
//
// The command line is main.ts (`npm run bench`); the default test run calls `runBench` at a smoke size.
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { type CeilingResult, measureCeiling } from "./measure/ceiling.js"
import { measureOperator, type OperatorResult, operatorBenchNamespace } from "./measure/operator.js"
import { measurePureThroughput } from "./measure/throughput.js"
import { type BenchReport, renderMarkdown } from "./report.js"
import { startBenchCluster } from "./support/benchCluster.js"
import { type ProfileSummary, summarizeProfile } from "./support/cpuProfile.js"
import { machineFacts } from "./support/machine.js"
import { clearNamespace, createNamespace, createWorkspaces } from "./support/setup.js"
import { shippedBundle } from "./support/shippedOperator.js"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))

export interface BenchOptions {
  readonly workspaces: number
  readonly concurrency: number
  readonly resyncSeconds: number
  /** How long the idle operator (no Workspaces) is left alone before its memory and CPU are read again. */
  readonly idleSeconds: number
  readonly driftDeletions: number
  /** Measure the ceiling again after the operator (the ratio then uses the mean of both). */
  readonly ceilingAfter: boolean
  readonly out: string
  readonly skipOperator: boolean
  readonly quick: boolean
  readonly log: (line: string) => void
}

export interface BenchOutcome {
  readonly report: BenchReport
  readonly profile: ProfileSummary | undefined
  readonly markdown: string
}

const commit = (): string => {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: repoRoot, encoding: "utf8" }).trim() !== ""
    return dirty ? `${sha} (with uncommitted changes)` : sha
  } catch {
    return "unknown"
  }
}

const renderProfile = (profile: ProfileSummary, file: string): string =>
  [
    `### Where the operator's CPU time goes while converging`,
    "",
    `From \`${file}\` (\`node --cpu-prof\`, ${profile.seconds.toFixed(1)} s profiled, ${profile.busySeconds.toFixed(1)} s busy; open it in Chrome DevTools or speedscope for the flame graph).`,
    "",
    "| area | share of busy CPU |",
    "| --- | --- |",
    ...profile.areas.slice(0, 12).map((a) => `| ${a.area} | ${a.percent}% |`),
    "",
    "| hottest functions (self time) | module | share |",
    "| --- | --- | --- |",
    ...profile.functions.map((f) => `| \`${f.name}\` | ${f.module} | ${f.percent}% |`),
    "",
  ].join("\n")

/** Runs every measurement; writes the results to `options.out`. */
export const runBench = async (options: BenchOptions): Promise<BenchOutcome> => {
  const started = performance.now()
  // Before the run writes its own results (and profile) into the tree.
  const measuredCommit = commit()
  const log = options.log
  mkdirSync(options.out, { recursive: true })
  const cluster = await startBenchCluster({ maxSockets: Math.max(16, options.concurrency) })
  let report: BenchReport
  let profile: ProfileSummary | undefined
  const profileFile = join(options.out, "operator-converge.cpuprofile")
  try {
    const machine = await machineFacts(cluster.api, cluster.controlPlane.etcdUrl)
    log(`machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.kubernetes}, Node ${machine.node}`)

    // The ceiling is measured before and after the operator, and the ratio uses their mean: whatever else runs on
    // the machine meanwhile then weighs on both sides alike.
    const ceilingIn = async (namespace: string) => {
      await createNamespace(cluster.api, namespace)
      const live = await createWorkspaces(cluster.api, namespace, options.workspaces)
      const result = await measureCeiling(cluster.api, cluster.controlPlane, live, options.concurrency)
      log(
        `ceiling: ${result.writesPerSecond.toFixed(0)} objects/s (${result.writes} in ${result.seconds.toFixed(1)} s)`,
      )
      return result
    }
    const ceiling = await ceilingIn("bench-ceiling")
    let ceilingAfter: CeilingResult | undefined

    let operator: OperatorResult | { skipped: string } = { skipped: "--skip-operator" }
    if (!options.skipOperator) {
      const profileDir = mkdtempSync(join(tmpdir(), "cartographer-profile-"))
      try {
        operator = await measureOperator(cluster, {
          workspaces: options.workspaces,
          concurrency: options.concurrency,
          resyncPeriodSeconds: options.resyncSeconds,
          idleSeconds: options.idleSeconds,
          driftDeletions: options.driftDeletions,
          ceilingWritesPerSecond: ceiling.writesPerSecond,
          cpuProfileDir: profileDir,
          log,
        })
        // Kept only when complete (it parses and has samples): an empty or cut-short profile is never an artifact.
        rmSync(profileFile, { force: true })
        const written = readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile"))
        if (written[0] === undefined) log("no CPU profile was written (the operator did not exit cleanly)")
        else {
          const from = join(profileDir, written[0])
          try {
            profile = summarizeProfile(from, (await shippedBundle()).path)
            renameSync(from, profileFile)
          } catch (error) {
            log(`the CPU profile is incomplete, not kept: ${error instanceof Error ? error.message : String(error)}`)
          }
        }
      } finally {
        rmSync(profileDir, { recursive: true, force: true })
      }
      await clearNamespace(cluster.api, operatorBenchNamespace)
      if (options.ceilingAfter) ceilingAfter = await ceilingIn("bench-ceiling-after")
      const mean = (ceiling.writesPerSecond + (ceilingAfter ?? ceiling).writesPerSecond) / 2
      operator = {
        ...operator,
        converge: { ...operator.converge, ratioToCeiling: operator.converge.objectsPerSecond / mean },
      }
    }
    // The pure benchmarks run last, with the control plane idle.
    log("planner and validator throughput…")
    const pure = measurePureThroughput({ quick: options.quick })
    report = {
      date: new Date().toISOString(),
      commit: measuredCommit,
      machine,
      parameters: {
        workspaces: options.workspaces,
        concurrency: options.concurrency,
        resyncPeriodSeconds: options.resyncSeconds,
        idleSeconds: options.idleSeconds,
        driftDeletions: options.driftDeletions,
      },
      ceiling,
      ...(ceilingAfter === undefined ? {} : { ceilingAfter }),
      operator,
      pure,
      loadAverageAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100,
      seconds: (performance.now() - started) / 1000,
    }
  } finally {
    await cluster.stop()
  }
  const markdown = [
    renderMarkdown(report),
    profile === undefined ? "" : renderProfile(profile, relative(repoRoot, profileFile)),
  ].join("\n")
  writeFileSync(join(options.out, "latest.json"), `${JSON.stringify({ ...report, profile }, null, 2)}\n`)
  writeFileSync(join(options.out, "latest.md"), markdown)
  return { report, profile, markdown }
}
