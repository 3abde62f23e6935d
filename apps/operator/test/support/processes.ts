// The bundled `cartographer` as the tests run it: built once per test file into a temp dir with no node_modules
// around it, started as a real child process (the harness's `start` and `run`) on plain Node 24 (vitest's own
// `process.execPath`), its JSON log lines parsed as they arrive.
import type { ChildProcess } from "node:child_process"
import { copyFile, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type RunResult, run, start } from "@cartographer/test/harness"

const appDir = fileURLToPath(new URL("../..", import.meta.url))

export interface Bundle {
  /** The bundle, alone in a temp directory. */
  readonly path: string
  readonly bytes: number
  readonly remove: () => Promise<void>
}

/** Bundles the CLI from the current sources and copies it to a directory of its own. */
export const buildBundle = async (): Promise<Bundle> => {
  const { bundle } = (await import(join(appDir, "scripts", "bundle.mjs"))) as {
    bundle: (o: { outfile: string }) => Promise<{ outfile: string; bytes: number }>
  }
  const buildDir = await mkdtemp(join(tmpdir(), "cartographer-bundle-build-"))
  const dir = await mkdtemp(join(tmpdir(), "cartographer-bundle-"))
  const built = await bundle({ outfile: join(buildDir, "cartographer.mjs") })
  const path = join(dir, "cartographer.mjs")
  await copyFile(built.outfile, path)
  await rm(buildDir, { recursive: true, force: true })
  return {
    path,
    bytes: built.bytes,
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}

export interface LogLine {
  readonly time?: string
  readonly level?: string
  readonly msg?: string
  readonly [key: string]: unknown
}

export interface RunningCli {
  readonly name: string
  readonly child: ChildProcess
  readonly pid: number
  /** Parsed JSON lines of stdout so far. */
  readonly logs: Array<LogLine>
  stdout(): string
  stderr(): string
  /** Resolves with the first log line matching `predicate` (already seen or still to come). */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>
  /** Resolves with the exit code (or 128 + signal number) once the process has exited. */
  readonly exited: Promise<{
    readonly code: number | null
    readonly signal: NodeJS.Signals | null
    readonly at: number
  }>
  running(): boolean
  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

/** Starts the bundle (`node <bundle> ...args`) in a clean environment plus `env`. */
export const startCli = (
  bundle: string,
  name: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
): RunningCli => {
  // Only what a process needs: no KUBECONFIG, HOME or test variables leak in unless given.
  const started = start(process.execPath, [bundle, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
  })
  const child = started.child
  let out = ""
  let err = ""
  let pending = ""
  const logs: Array<LogLine> = []
  const waiters: Array<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = []
  child.stdout?.on("data", (chunk: Buffer) => {
    const text = chunk.toString()
    out += text
    pending += text
    let newline = pending.indexOf("\n")
    while (newline >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      newline = pending.indexOf("\n")
      try {
        const parsed = JSON.parse(line) as LogLine
        logs.push(parsed)
        for (const waiter of [...waiters]) {
          if (waiter.predicate(parsed)) {
            waiters.splice(waiters.indexOf(waiter), 1)
            waiter.resolve(parsed)
          }
        }
      } catch {
        // not a JSON line (e.g. a crash trace): kept in stdout()
      }
    }
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve({ code, signal, at: Date.now() })
    })
  })
  const tail = () => `--- ${name} stdout (last 40 lines)\n${out.split("\n").slice(-40).join("\n")}\n--- stderr\n${err}`
  return {
    name,
    child,
    pid: started.pid,
    logs,
    stdout: () => out,
    stderr: () => err,
    running: started.running,
    exited,
    waitForLog: (predicate, timeoutMs = 60_000, what = "a log line") => {
      const seen = logs.find(predicate)
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(new Error(`${name}: no ${what} within ${timeoutMs} ms\n${tail()}`))
        }, timeoutMs)
        const waiter = {
          predicate,
          resolve: (line: LogLine) => {
            clearTimeout(timer)
            resolve(line)
          },
        }
        waiters.push(waiter)
        void exited.then(() => {
          if (waiters.includes(waiter)) {
            clearTimeout(timer)
            waiters.splice(waiters.indexOf(waiter), 1)
            reject(new Error(`${name} exited before ${what}\n${tail()}`))
          }
        })
      })
    },
    stop: async (signal = "SIGTERM", timeoutMs = 45_000) => {
      await started.stop(timeoutMs, signal)
      return exited
    },
  }
}

/** The port a server of the process bound (from its `serving <name>` log line). */
export const boundPort = async (cli: RunningCli, server: "health probes" | "metrics"): Promise<number> => {
  const line = await cli.waitForLog((l) => l.msg === `serving ${server}`, 60_000, `"serving ${server}"`)
  return line.port as number
}

/** GET http://127.0.0.1:<port><path>; status and body. */
export const httpGet = async (port: number, path: string): Promise<{ status: number; body: string }> => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) })
  return { status: response.status, body: await response.text() }
}

/** Runs the bundle to completion (for short commands); exit code, stdout, stderr. */
export const runCli = (
  bundle: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Readonly<Record<string, string>>; readonly input?: string; readonly cwd?: string } = {},
): Promise<RunResult> =>
  run(process.execPath, [bundle, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
    input: options.input,
    cwd: options.cwd,
    timeoutMs: 120_000,
  })
