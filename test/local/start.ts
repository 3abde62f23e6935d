// `npm start`: Cartographer and a Prefect UI in minutes, with no cluster. Starts a local control plane (built from
// Go modules on first use, then cached), the pod runner as its only node (containers as local processes: Prefect
// from a pinned venv, Postgres from Debian), then `kubectl apply -k install` (whose operator pods the runner plays
// from this checkout); applies samples/basic-workspace.yaml and prints where its Prefect UI answers. Ctrl-C stops
// everything.
//
//   npm start                       everything local (default)
//   npm start -- --cluster          the operator only, against the cluster of your current kubeconfig
//   npm start -- --port 4300        the local UI port (default 4200, as `kubectl port-forward … 4200:4200`)
//   npm start -- -f <workspace.yaml> another Workspace than the sample
import { readdir, readFile } from "node:fs/promises"
import { connect, createServer, type Server } from "node:net"
import { homedir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { parse, stringify } from "yaml"
import { type ControlPlane, kubectlOk, pollUntil, startControlPlane } from "../harness/index.js"
import { type KubeApi, makeKubeApi, type PodRunner, splice, startPodRunner } from "../podrunner/index.js"
import { prefectVenv } from "../prefect/index.js"
import { operatorEntrypoint, startOperatorProcess } from "./operatorProcess.js"

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))
const usage = `Usage: npm start [-- --cluster] [--port <port>] [-f <workspace.yaml>]

  (no flag)      start a local control plane, the operator and a local pod runner, apply the Workspace,
                 and print the URL of its Prefect UI (Ctrl-C stops everything)
  --cluster      run only the operator, against the cluster of your current kubeconfig (KUBECONFIG or
                 ~/.kube/config); install the CRD first: kubectl apply -f install/crd/
  --port <port>  local port of the Prefect UI (default 4200)
  -f <file>      the Workspace to apply (default samples/basic-workspace.yaml)`

const { values } = parseArgs({
  options: {
    cluster: { type: "boolean", default: false },
    port: { type: "string", default: "4200" },
    file: { type: "string", short: "f", default: repo("samples/basic-workspace.yaml") },
    help: { type: "boolean", short: "h", default: false },
  },
})
if (values.help) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}

const started = Date.now()
const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`.padStart(5)
const say = (line: string) => process.stdout.write(`[${elapsed()}] ${line}\n`)
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)

/** Resolves once Ctrl-C (or SIGTERM) arrives. */
const interrupted = new Promise<NodeJS.Signals>((resolve) => {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => resolve(signal))
})

const runAgainstCluster = async () => {
  const kubeconfig = process.env.KUBECONFIG?.split(":")[0] || join(homedir(), ".kube", "config")
  say(`running the operator against the cluster of ${kubeconfig} (all namespaces)`)
  const operator = await startOperatorProcess({
    kubeconfigPath: kubeconfig,
    logPath: "/dev/stdout",
  })
  process.stdout.write(
    `\nThe operator runs here; in another terminal:\n  kubectl apply -f ${values.file}\n` +
      "  kubectl port-forward svc/test-environment-orion-server 4200:4200   # then open http://localhost:4200\n\n",
  )
  const ended = await Promise.race([interrupted.then(() => undefined), operator.exited])
  if (ended !== undefined) {
    say(`the operator exited (${ended})`)
    process.exitCode = typeof ended === "number" && ended !== 0 ? ended : 1
  }
  await operator.stop()
}

/** A local port that forwards to the Service: what `kubectl port-forward svc/… 4200:4200` gives. */
const forward = (port: number, target: URL): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer((client) => {
      splice(client, connect({ host: target.hostname, port: Number(target.port) }))
    })
    server.once("error", reject)
    server.listen({ host: "127.0.0.1", port }, () => resolve(server))
  })

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer()
    probe.once("error", () => resolve(false))
    probe.listen({ host: "127.0.0.1", port }, () => probe.close(() => resolve(true)))
  })

/** Prints each pod's state whenever it changes, until stopped. */
const watchProgress = (api: KubeApi, namespace: string) => {
  const last = new Map<string, string>()
  const timer = setInterval(async () => {
    try {
      const pods = await api.get<{
        items: Array<{
          metadata: { name: string }
          status?: {
            phase?: string
            containerStatuses?: Array<{ ready: boolean; state?: Record<string, { reason?: string }> }>
          }
        }>
      }>(`/api/v1/namespaces/${namespace}/pods`)
      for (const pod of pods.items) {
        const statuses = pod.status?.containerStatuses ?? []
        const waiting = statuses.map((c) => c.state?.waiting?.reason ?? c.state?.terminated?.reason).find(Boolean)
        const ready = `${statuses.filter((c) => c.ready).length}/${statuses.length}`
        const line = `${pod.status?.phase ?? "Pending"}${waiting ? ` (${waiting})` : ""} ${ready}`
        if (last.get(pod.metadata.name) !== line) {
          last.set(pod.metadata.name, line)
          say(`  pod ${pod.metadata.name.padEnd(52)} ${line}`)
        }
      }
    } catch {
      // the next tick tries again
    }
  }, 2_000)
  return () => clearInterval(timer)
}

const runLocally = async () => {
  let controlPlane: ControlPlane | undefined
  let runner: PodRunner | undefined
  let forwarder: Server | undefined
  let stopProgress: () => void = () => undefined
  const stopAll = async (gracefully: boolean) => {
    stopProgress()
    forwarder?.close()
    await (gracefully ? runner?.stop() : runner?.kill())
    await controlPlane?.stop()
  }
  try {
    say("starting a local Kubernetes control plane (first run: builds it from Go modules, about 6 min on 2 cores)")
    const crdDir = repo("install/crd")
    const crds = (await readdir(crdDir)).filter((f) => f.endsWith(".yaml")).map((f) => join(crdDir, f))
    controlPlane = await startControlPlane({ tier: "cluster", nodes: 0, crds, startTimeoutMs: 300_000 })
    const cp = controlPlane
    const kubectl = (args: ReadonlyArray<string>, input?: string) =>
      kubectlOk(cp.kubectlPath, cp.kubeconfigPath, args, input === undefined ? {} : { input })
    say("control plane ready; installing Prefect 3 for the local pod runner (first run: a minute or two)")
    await prefectVenv((line) => say(line))
    runner = await startPodRunner({
      kubeConfig: cp.kubeConfig,
      operatorEntrypoint: operatorEntrypoint(),
      log: (line) => say(`podrunner: ${line}`),
    })
    say(`pod runner ready: node ${runner.nodeName}`)
    const api = makeKubeApi(cp.kubeConfig)

    // The install, as is: its Deployment's pods (image `cartographer`) run the operator from this checkout, as
    // the install's ServiceAccount, with leader election.
    await kubectl(["apply", "--server-side", "--force-conflicts", "-k", repo("install")])
    say("applied install/ (kubectl apply -k install); the operator's pods:")
    stopProgress = watchProgress(api, "cartographer-system")
    await Promise.race([
      interrupted.then(() => {
        throw new Error("interrupted")
      }),
      pollUntil(
        "the operator Deployment is available",
        async () => {
          const d = await api.get<{ status?: { availableReplicas?: number } }>(
            "/apis/apps/v1/namespaces/cartographer-system/deployments/cartographer-operator",
          )
          return (d.status?.availableReplicas ?? 0) >= 1 ? true : undefined
        },
        { timeoutMs: 300_000, intervalMs: 1_000 },
      ),
    ])
    stopProgress()

    let port = Number(values.port)
    const workspace = parse(await readFile(values.file, "utf8")) as {
      metadata: { name: string; namespace?: string }
      spec: { workflows: { server?: { uiApiUrl?: string } } }
    }
    if (!(await portFree(port))) {
      const taken = port
      port = 0
      for (let p = taken + 1; p < taken + 100 && port === 0; p++) if (await portFree(p)) port = p
      if (port === 0) throw new Error(`ports ${taken}-${taken + 99} are all taken: choose one with --port`)
      say(`port ${taken} is taken: the UI goes to ${port}`)
    }
    // The UI's API URL defaults to http://localhost:4200/api (for `kubectl port-forward … 4200:4200`); on another
    // port the Workspace says so, unless its file chose a URL itself.
    const uiApiUrl = workspace.spec.workflows.server?.uiApiUrl
    if (port !== 4200 && (uiApiUrl === undefined || uiApiUrl === "http://localhost:4200/api")) {
      workspace.spec.workflows.server = { ...workspace.spec.workflows.server, uiApiUrl: `http://localhost:${port}/api` }
      say(`the Workspace's spec.workflows.server.uiApiUrl is set to http://localhost:${port}/api to match`)
    }
    const namespace = workspace.metadata.namespace ?? "default"
    const name = workspace.metadata.name
    await kubectl(["apply", "-n", namespace, "-f", "-"], stringify(workspace))
    say(`applied Workspace ${namespace}/${name} from ${values.file}; pods start as the operator creates them:`)
    stopProgress = watchProgress(api, namespace)

    const service = new URL(runner.serviceUrl(namespace, `${name}-orion-server`, 4200))
    await Promise.race([
      interrupted.then(() => {
        throw new Error("interrupted")
      }),
      pollUntil(
        "the Prefect server answers /api/health",
        async () => ((await fetch(`${service.origin}/api/health`)).ok ? true : undefined),
        { timeoutMs: 900_000, intervalMs: 2_000 },
      ),
    ])
    forwarder = await forward(port, service)
    stopProgress()
    process.stdout.write(
      `\n${bold(`Prefect UI of ${name}: http://localhost:${port}`)}\n\n` +
        `Inspect the cluster with kubectl (${cp.kubectlPath}):\n` +
        `  export KUBECONFIG=${cp.kubeconfigPath}\n` +
        `  kubectl get workspaces,pods -A\n\n` +
        `Deploy a flow: PREFECT_API_URL=http://localhost:${port}/api, any work pool of the Workspace.\n` +
        "Ctrl-C stops everything (the control plane and its data are temporary).\n",
    )
    await interrupted
    say("stopping")
    await stopAll(false)
  } catch (error) {
    if (!(error instanceof Error && error.message === "interrupted")) {
      process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 1
    }
    say("stopping")
    await stopAll(false)
  }
}

await (values.cluster ? runAgainstCluster() : runLocally())
process.exit()
