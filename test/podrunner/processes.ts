// A container's main process: its own process group (so that stopping it also stops what it spawned, e.g. a
// worker's flow-run subprocesses), output appended to a log file, killed by the kernel if the runner dies
// (setpriv --pdeathsig), optionally run as another user (Postgres refuses to run as root).
import { type ChildProcess, spawn } from "node:child_process"
import { closeSync, existsSync, openSync, writeSync } from "node:fs"

const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p))

export interface Launch {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  readonly logPath: string
  /** Run as this user (only when the runner is root). */
  readonly user?: { readonly uid: number; readonly gid: number }
}

export interface Exit {
  readonly code: number
  readonly signal?: string
}

export interface LocalProcess {
  readonly pid: number
  readonly exited: Promise<Exit>
  running(): boolean
  /** `signal` to the process group, SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<Exit>
}

// Every process the runner started, for the last-resort kill on exit.
const live = new Set<ChildProcess>()
const key = Symbol.for("cartographer.podrunner.processes")
const shared = globalThis as { [key]?: boolean }
if (!shared[key]) {
  shared[key] = true
  process.once("exit", () => {
    for (const child of live) {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  })
}

const signalGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pid, signal)
  } catch {
    // the group is gone
  }
}

export const startProcess = (launch: Launch): LocalProcess => {
  const fd = openSync(launch.logPath, "a")
  writeSync(fd, `===== ${new Date().toISOString()} ${launch.command} ${launch.args.join(" ")}\n`)
  const privileges = launch.user
    ? [`--reuid=${launch.user.uid}`, `--regid=${launch.user.gid}`, "--clear-groups"]
    : ([] as Array<string>)
  const [command, argv] = setpriv
    ? [setpriv, ["--pdeathsig", "KILL", ...privileges, "--", launch.command, ...launch.args]]
    : [launch.command, [...launch.args]]
  let child: ChildProcess
  try {
    child = spawn(command, argv, {
      cwd: launch.cwd,
      env: launch.env,
      stdio: ["ignore", fd, fd],
      detached: true,
    })
  } finally {
    closeSync(fd)
  }
  live.add(child)
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child)
      resolve(signal ? { code: 128 + (signalNumbers[signal] ?? 9), signal } : { code: code ?? 1 })
    })
    child.once("error", (error) => {
      live.delete(child)
      try {
        const log = openSync(launch.logPath, "a")
        writeSync(log, `could not start ${launch.command}: ${error.message}\n`)
        closeSync(log)
      } catch {
        // nothing to report to
      }
      resolve({ code: 127 })
    })
  })
  const pid = child.pid ?? -1
  const running = () => child.exitCode === null && child.signalCode === null && pid > 0
  return {
    pid,
    exited,
    running,
    stop: async (signal, graceMs) => {
      if (running()) {
        signalGroup(pid, signal)
        const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs)
        const exit = await exited
        clearTimeout(timer)
        // Whatever the main process left behind in its group.
        signalGroup(pid, "SIGKILL")
        return exit
      }
      return exited
    },
  }
}

const signalNumbers: Partial<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }
