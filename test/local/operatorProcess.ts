// The operator as its own process, `cartographer run`, built from the sources by run-ts.mjs (no `npm run build`
// needed): what the install's Deployment runs, on this machine, with the kubeconfig it is given (the install's
// ServiceAccount token in the tests and in `npm start`).
import { spawn } from "node:child_process"
import { closeSync, existsSync, openSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { freePort } from "../harness/network.js"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
const launcher = fileURLToPath(new URL("./run-ts.mjs", import.meta.url))
const mainSource = fileURLToPath(new URL("../../apps/operator/src/main.ts", import.meta.url))
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p))

/** The command line that runs the operator from this checkout: what the `cartographer` image's ENTRYPOINT does. */
export const operatorEntrypoint = (): ReadonlyArray<string> => [process.execPath, launcher, mainSource]

export interface OperatorProcess {
  readonly pid: number
  /** `http://127.0.0.1:<port>` serving /healthz and /readyz. */
  readonly healthUrl: string
  readonly logPath: string
  readonly exited: Promise<number | string>
  running(): boolean
  stop(): Promise<void>
}

export const startOperatorProcess = async (options: {
  readonly kubeconfigPath: string
  /** Default: all namespaces. */
  readonly namespaces?: ReadonlyArray<string>
  readonly logPath: string
  readonly extraArgs?: ReadonlyArray<string>
}): Promise<OperatorProcess> => {
  const healthPort = await freePort()
  const args = [
    launcher,
    mainSource,
    "run",
    `--kubeconfig=${options.kubeconfigPath}`,
    "--no-leader-elect",
    `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    "--metrics-bind-address=0",
    "--log-format=text",
    ...(options.namespaces?.length ? [`--namespaces=${options.namespaces.join(",")}`] : []),
    ...(options.extraArgs ?? []),
  ]
  const fd = openSync(options.logPath, "a")
  // process.execPath: the Node 24 that runs us (npx/npm scripts put it first on PATH).
  const [command, argv] = setpriv
    ? [setpriv, ["--pdeathsig", "KILL", "--", process.execPath, ...args]]
    : [process.execPath, args]
  const child = spawn(command, argv, { cwd: repoRoot, stdio: ["ignore", fd, fd], env: { ...process.env } })
  closeSync(fd)
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
    child.once("error", (error) => resolve(error.message))
  })
  const running = () => child.exitCode === null && child.signalCode === null
  return {
    pid: child.pid ?? -1,
    healthUrl: `http://127.0.0.1:${healthPort}`,
    logPath: options.logPath,
    exited,
    running,
    stop: async () => {
      if (!running()) return
      child.kill("SIGTERM")
      const timer = setTimeout(() => running() && child.kill("SIGKILL"), 40_000)
      await exited
      clearTimeout(timer)
    },
  }
}
