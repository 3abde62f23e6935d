// Child processes of the control plane: started with their output in a log file, stopped by PID only, and
// never allowed to outlive the process that started them.
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
}
const key = Symbol.for("cartographer.test.processes")
const shared = globalThis as { [key]?: Registry }
const fresh = shared[key] === undefined
if (fresh) shared[key] = { live: new Set(), tempDirs: new Set() }
const { live, tempDirs } = shared[key] as Registry

/** Starts `binary args…`, appending stdout and stderr to `logPath`. */
export const launch = (name: string, binary: string, args: ReadonlyArray<string>, logPath: string): ManagedProcess => {
  const fd = openSync(logPath, "a")
  writeSync(fd, `\n===== ${new Date().toISOString()} ${binary} ${args.join(" ")}\n`)
  const [command, argv] = setpriv ? [setpriv, ["--pdeathsig", "KILL", "--", binary, ...args]] : [binary, [...args]]
  const child = spawn(command, argv, { stdio: ["ignore", fd, fd], env: { ...process.env, KUBECONFIG: "" } })
  closeSync(fd)
  if (child.pid === undefined) throw new Error(`${name}: could not start ${binary}`)
  const pid = child.pid
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
  const stop = async (graceMs = 10_000) => {
    if (!running()) return
    child.kill("SIGTERM")
    const timer = setTimeout(() => running() && child.kill("SIGKILL"), graceMs)
    await exited
    clearTimeout(timer)
  }
  const status = () => child.exitCode ?? child.signalCode ?? undefined
  return { name, pid, logPath, exited, running, status, stop }
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
const killAll = () => {
  for (const child of live) child.kill("SIGKILL")
  live.clear()
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}
if (fresh) {
  process.once("exit", killAll)
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll()
      // If nobody else (e.g. vitest) handles the signal, keep its default meaning: end the process.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
}
