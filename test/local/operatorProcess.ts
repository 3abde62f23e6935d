// The operator as its own process, `cartographer run`, built from the sources by run-ts.mjs (no `npm run build`
// needed): what the install's Deployment runs, on this machine, with the kubeconfig it is given (the install's
// ServiceAccount token in the tests and in `npm start`).
import { fileURLToPath } from "node:url"
import { freePort } from "../harness/network.js"
import { start } from "../harness/processes.js"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
const launcher = fileURLToPath(new URL("./run-ts.mjs", import.meta.url))
const mainSource = fileURLToPath(new URL("../../apps/operator/src/main.ts", import.meta.url))

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
  // process.execPath: the Node 24 that runs us (npx/npm scripts put it first on PATH).
  const started = start(process.execPath, args, { cwd: repoRoot, logPath: options.logPath })
  return {
    pid: started.pid,
    healthUrl: `http://127.0.0.1:${healthPort}`,
    logPath: options.logPath,
    exited: started.exited,
    running: started.running,
    stop: () => started.stop(40_000),
  }
}
