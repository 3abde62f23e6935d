// Starting, watching and killing operator processes (the engine host of engineHost.ts, bundled, started with the
// harness's `start`): their stdout events, their memory, SIGTERM for a clean shutdown and SIGKILL for a crash.
import { rmSync } from "node:fs"
import { mkdir, readdir, rm } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { operatorRuntimeEnv, start } from "@cartographer/test/harness"
import { type BuildOptions, build } from "esbuild"
import type { EngineHostConfig, EngineHostEvent } from "./engineHost.js"
import { eventLog, type MemoryStats, memoryOf, outputLines } from "./processEvents.js"

const entry = fileURLToPath(new URL("./engineHost.ts", import.meta.url))
/** The operator's own bundling settings (apps/operator/scripts/bundle.mjs), so that the host is built as what ships. */
const bundleScript = fileURLToPath(new URL("../../../apps/operator/scripts/bundle.mjs", import.meta.url))
let bundled: Promise<string> | undefined

const bundleDir = fileURLToPath(new URL("../../../node_modules/.cache/cartographer-engine-host/", import.meta.url))
const bundleName = /^engine-host-(\d+)\.mjs(?:\.map)?$/u

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * The engine host as one ESM file, built with the operator's bundling settings, once per process into
 * node_modules/.cache, named by the process's PID. A vitest worker that is killed never runs its exit hook, so each
 * build first removes the bundles of processes that are gone.
 */
export const engineHostBundle = (): Promise<string> => {
  bundled ??= (async () => {
    await mkdir(bundleDir, { recursive: true })
    for (const name of await readdir(bundleDir)) {
      const pid = Number(bundleName.exec(name)?.[1])
      if (pid > 0 && !alive(pid)) await rm(join(bundleDir, name), { force: true })
    }
    const file = join(bundleDir, `engine-host-${process.pid}.mjs`)
    process.once("exit", () => {
      rmSync(file, { force: true })
      rmSync(`${file}.map`, { force: true })
    })
    const { runtimeBuildOptions, assertLatin1 } = (await import(bundleScript)) as {
      runtimeBuildOptions: BuildOptions
      assertLatin1: (file: string) => Promise<void>
    }
    // The source map is written beside the bundle and not linked from it (Node never loads it): the CPU profile's
    // positions in the bundle's few long lines are mapped back to modules with it (cpuProfile.ts).
    await build({ ...runtimeBuildOptions, entryPoints: [entry], outfile: file, sourcemap: "external" })
    await assertLatin1(file)
    return file
  })()
  return bundled
}

export interface OperatorProcess {
  readonly pid: number
  readonly startedAt: number
  /** Every event printed so far, in order. */
  readonly events: ReadonlyArray<EngineHostEvent>
  /** Resolves with the first event (past or future) that matches; rejects after `timeoutMs` or if the process ends. */
  waitFor<E extends EngineHostEvent>(predicate: (event: EngineHostEvent) => event is E, timeoutMs: number): Promise<E>
  waitFor(predicate: (event: EngineHostEvent) => boolean, timeoutMs: number): Promise<EngineHostEvent>
  /** Exit code or signal once ended. */
  readonly exited: Promise<number | string>
  running(): boolean
  memory(): Promise<MemoryStats | undefined>
  /** The last lines of stderr (logs), for failure messages. */
  stderrTail(lines?: number): string
  /** SIGTERM (clean shutdown), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
  /** SIGKILL: a crash. */
  kill(): Promise<void>
  /** Sends a signal (e.g. SIGUSR2 for a heap snapshot with `--heapsnapshot-signal`). */
  signal(name: NodeJS.Signals): void
}

export interface StartOptions {
  /** Write a V8 CPU profile into this directory when the process exits (`--cpu-prof`). */
  readonly cpuProfileDir?: string
  /** Extra environment (merged over this process's). */
  readonly env?: Readonly<Record<string, string>>
  /** Extra Node options, e.g. `--heapsnapshot-signal=SIGUSR2` or `--max-semi-space-size=4`. */
  readonly nodeArgs?: ReadonlyArray<string>
  /** Working directory (where Node writes heap snapshots). Default: this process's. */
  readonly cwd?: string
}

const isKind =
  <K extends EngineHostEvent["event"]>(kind: K) =>
  (event: EngineHostEvent): event is Extract<EngineHostEvent, { event: K }> =>
    event.event === kind

export const eventOf = isKind

export const startEngineHost = async (
  config: EngineHostConfig,
  options: StartOptions = {},
): Promise<OperatorProcess> => {
  const file = await engineHostBundle()
  const nodeArgs = [
    ...(options.cpuProfileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`]),
    ...(options.nodeArgs ?? []),
  ]
  // The runtime settings the shipped Deployment runs the operator with, so that what is measured is what users run.
  const shipped = await operatorRuntimeEnv()
  const started = start(process.execPath, [...nodeArgs, file], {
    cwd: options.cwd,
    env: {
      ...process.env,
      ...shipped,
      NODE_OPTIONS: [process.env.NODE_OPTIONS, shipped.NODE_OPTIONS]
        .filter((o) => o !== undefined && o !== "")
        .join(" "),
      ...options.env,
      CARTOGRAPHER_ENGINE_HOST: JSON.stringify(config),
    },
  })
  const { child, exited, running } = started
  const startedAt = Date.now()
  const stderr = outputLines()
  const stderrTail = stderr.tail
  const { events, wake, waitFor } = eventLog<EngineHostEvent>({
    what: `engine host ${child.pid}`,
    running,
    status: () => String(child.exitCode ?? child.signalCode),
    tail: stderrTail,
  })
  const stdout = outputLines((line) => {
    if (line.trim() === "") return
    try {
      events.push(JSON.parse(line) as EngineHostEvent)
    } catch {
      // Not an event (a stray console.log): ignore.
    }
  })
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout.write(chunk)
    wake()
  })
  child.stderr?.setEncoding("utf8").on("data", stderr.write)
  void exited.then(wake)
  return {
    pid: started.pid,
    signal: (name: NodeJS.Signals) => {
      if (running()) child.kill(name)
    },
    startedAt,
    events,
    waitFor: waitFor as OperatorProcess["waitFor"],
    exited,
    running,
    memory: () => memoryOf(started.pid),
    stderrTail,
    stop: (graceMs) => started.stop(graceMs),
    kill: started.kill,
  }
}
