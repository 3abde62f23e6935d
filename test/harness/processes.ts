// Child processes of the tests, the one way they are started: `start` for one that runs beside the tests (the
// control plane's components, the operator, a benchmark's engine host), `run` for one that runs to completion
// (kubectl, a CLI, a script). Every child is stopped by its PID only, and never outlives the process that started it.
import { type ChildProcess, spawn } from "node:child_process"
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from "node:fs"
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface ManagedProcess {
  readonly name: string
  readonly pid: number
  readonly logPath: string
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  readonly exited: Promise<number | string>
  running(): boolean
  /** How it ended: exit code or signal name; undefined while running. */
  status(): number | string | undefined
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>
}

// setpriv(1) sets PR_SET_PDEATHSIG before exec'ing the binary (same PID): the kernel kills the child when its
// parent dies, even when the test runner itself is SIGKILLed and no JavaScript handler runs.
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p))

// Shared through globalThis: vitest re-evaluates modules per test file in one worker process, and every copy
// must see (and clean up) the same children without stacking up process listeners.
interface Registry {
  readonly live: Set<ChildProcess>
  readonly tempDirs: Set<string>
  readonly lastResorts: Set<() => void>
}
const key = Symbol.for("cartographer.test.processes")
const shared = globalThis as { [key]?: Registry }
const fresh = shared[key] === undefined
if (fresh) shared[key] = { live: new Set(), tempDirs: new Set(), lastResorts: new Set() }
const { live, tempDirs, lastResorts } = shared[key] as Registry

export interface StartOptions {
  /** The child's whole environment. Default: this process's. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  readonly cwd?: string | undefined
  /** Append stdout and stderr to this file (with a header line naming the command); default: pipes to read. */
  readonly logPath?: string | undefined
  /** A pipe to write the child's stdin to; default: none (the child reads end of file). */
  readonly stdin?: boolean | undefined
}

/** A child process started by `start`. */
export interface StartedProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  readonly exited: Promise<number | string>
  running(): boolean
  /** How it ended: exit code or signal name; undefined while running. */
  status(): number | string | undefined
  /** `signal` (SIGTERM), then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>
  /** SIGKILL: a crash. */
  kill(): Promise<void>
}

/** Starts `command args…` beside this process; it dies with this process. */
export const start = (command: string, args: ReadonlyArray<string>, options: StartOptions = {}): StartedProcess => {
  const fd = options.logPath === undefined ? undefined : openSync(options.logPath, "a")
  if (fd !== undefined) writeSync(fd, `\n===== ${new Date().toISOString()} ${command} ${args.join(" ")}\n`)
  const [binary, argv] = setpriv ? [setpriv, ["--pdeathsig", "KILL", "--", command, ...args]] : [command, [...args]]
  const child = spawn(binary, argv, {
    stdio: [options.stdin === true ? "pipe" : "ignore", fd ?? "pipe", fd ?? "pipe"],
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  })
  if (fd !== undefined) closeSync(fd)
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  live.add(child)
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child)
      resolve(code ?? signal ?? "unknown")
    })
    child.once("error", (error) => {
      live.delete(child)
      resolve(error.message)
    })
  })
  const running = () => child.exitCode === null && child.signalCode === null
  const stop = async (graceMs = 10_000, signal: NodeJS.Signals = "SIGTERM") => {
    if (!running()) return
    child.kill(signal)
    const timer = setTimeout(() => running() && child.kill("SIGKILL"), graceMs)
    await exited
    clearTimeout(timer)
  }
  const kill = async () => {
    if (running()) child.kill("SIGKILL")
    await exited
  }
  const status = () => child.exitCode ?? child.signalCode ?? undefined
  return { child, pid: child.pid, exited, running, status, stop, kill }
}

/** Starts a control plane binary, its output appended to `logPath`. */
export const launch = (name: string, binary: string, args: ReadonlyArray<string>, logPath: string): ManagedProcess => {
  const started = start(binary, args, { logPath, env: { ...process.env, KUBECONFIG: "" } })
  return {
    name,
    pid: started.pid,
    logPath,
    exited: started.exited,
    running: started.running,
    status: started.status,
    stop: (graceMs) => started.stop(graceMs),
  }
}

export interface RunOptions extends Omit<StartOptions, "logPath"> {
  /** Fed to stdin, e.g. a manifest for `kubectl apply -f -`. */
  readonly input?: string | undefined
  /** Killed (SIGKILL) after this long; `Infinity` for never. Default 60 s. */
  readonly timeoutMs?: number | undefined
  /** Each chunk of stderr as it arrives (progress of a long script). */
  readonly onStderr?: ((text: string) => void) | undefined
}

export interface RunResult {
  /** The exit code, or the signal's name when a signal ended it (the timeout's SIGKILL). */
  readonly code: number | string
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `command args…` to completion. Resolves whatever the exit code (tests assert on it); rejects only when the
 * command cannot run at all.
 */
export const run = (command: string, args: ReadonlyArray<string>, options: RunOptions = {}): Promise<RunResult> => {
  const started = start(command, args, { env: options.env, cwd: options.cwd, stdin: true })
  const { child } = started
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    stdout += text
  })
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text
    options.onStderr?.(text)
  })
  // A command may exit before reading its input (a usage error): its exit code and stderr say what happened, so
  // the broken pipe is not an error of its own.
  child.stdin?.on("error", () => {})
  child.stdin?.end(options.input ?? "")
  const timeoutMs = options.timeoutMs ?? 60_000
  const timer = Number.isFinite(timeoutMs) ? setTimeout(() => child.kill("SIGKILL"), timeoutMs) : undefined
  return new Promise((resolve, reject) => {
    child.once("error", reject)
    // `close`, not `exit`: the output is complete once the pipes are closed.
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? signal ?? "unknown", stdout, stderr })
    })
  })
}

/** The last `lines` lines of a log, for error messages. */
export const logTail = (logPath: string, lines = 40): string => {
  try {
    return readFileSync(logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
  } catch {
    return "(no log)"
  }
}

const ownerFile = ".owner-pid"

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * A fresh temp dir `<tmp>/<prefix>XXXXXX` owned by this process: removed on every exit path that runs
 * JavaScript (normal exit, SIGINT, SIGTERM, SIGHUP) unless `forget` is called first. Dirs of earlier runs whose
 * owner died without cleaning up (SIGKILL) are swept here; their processes died with them (PDEATHSIG).
 */
export const ownedTempDir = async (prefix: string): Promise<{ dir: string; forget(): void }> => {
  for (const name of await readdir(tmpdir()).catch(() => [])) {
    if (!name.startsWith(prefix)) continue
    const stale = join(tmpdir(), name)
    const owner = Number(await readFile(join(stale, ownerFile), "utf8").catch(() => "0"))
    if (owner > 0 && !alive(owner)) await rm(stale, { recursive: true, force: true })
  }
  const dir = await mkdtemp(join(tmpdir(), prefix))
  await writeFile(join(dir, ownerFile), String(process.pid))
  tempDirs.add(dir)
  return { dir, forget: () => tempDirs.delete(dir) }
}

// Last resort when the owner did not call stop(): kill what is still running, by the PIDs we started.
/**
 * `kill`, run synchronously if this process ends (exit, SIGINT, SIGTERM, SIGHUP) before the returned function is
 * called: for what is not a child of this process and would outlive it (the real node's containers and shims).
 */
export const onLastResort = (kill: () => void): (() => void) => {
  lastResorts.add(kill)
  return () => lastResorts.delete(kill)
}

const killAll = () => {
  for (const kill of lastResorts) {
    try {
      kill()
    } catch {}
  }
  lastResorts.clear()
  for (const child of live) child.kill("SIGKILL")
  live.clear()
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}
if (fresh) {
  process.once("exit", killAll)
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    // Kept while killAll runs: a second signal (Ctrl-C twice, or one relayed by a wrapper) must not end this process
    // half-way through it by the signal's default action.
    const handler = () => {
      killAll()
      process.removeListener(signal, handler)
      // If nobody else (e.g. vitest) handles the signal, keep its default meaning: end the process.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    }
    process.on(signal, handler)
  }
}
