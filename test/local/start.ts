// `npm start`: Cartographer and a Prefect UI in minutes, with no cluster. Starts a local Kubernetes cluster of one
// real node (the test harness's tier "node": control plane and kubelet built from Go modules, containerd from Debian,
// images built here; all cached after the first run), then `kubectl apply -k install` with the operator's image built
// from this checkout; applies samples/basic-workspace.yaml and forwards the Prefect UI with `kubectl port-forward`,
// as a user would on a real cluster. Needs root (the node's namespaces, cgroups and mounts). Ctrl-C stops everything.
//
//   npm start                       everything local (default)
//   npm start -- --cluster          the operator only, against the cluster of your current kubeconfig
//   npm start -- --port 4300        the local UI port (default 4200, as `kubectl port-forward … 4200:4200`)
//   npm start -- -f <workspace.yaml> another Workspace than the sample
import { readdir, readFile } from "node:fs/promises"
import { createServer } from "node:net"
import { homedir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { parse, stringify } from "yaml"
import {
  type ControlPlane,
  type KubeApi,
  kubectlOk,
  makeKubeApi,
  pollUntil,
  type StartedProcess,
  start,
  startControlPlane,
} from "../harness/index.js"
import { missingNodePrerequisites } from "../node/prerequisites.js"
import { startOperatorProcess } from "./operatorProcess.js"

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))
const usage = `Usage: npm start [-- --cluster] [--port <port>] [-f <workspace.yaml>]

  (no flag)      start a local one-node cluster (needs root), install the operator, apply the Workspace,
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

/** Resolves with `work`, or rejects as soon as Ctrl-C arrives. */
const unlessInterrupted = <A>(work: Promise<A>): Promise<A> =>
  Promise.race([
    interrupted.then(() => {
      throw new Error("interrupted")
    }),
    work,
  ])

const runLocally = async () => {
  const missing = missingNodePrerequisites()
  if (missing !== undefined) {
    process.stderr.write(
      `npm start runs a one-node Kubernetes cluster on this machine, and ${missing}.\n` +
        "Run it as root on Linux, or run only the operator against a cluster of yours: npm start -- --cluster\n",
    )
    process.exitCode = 1
    return
  }
  let controlPlane: ControlPlane | undefined
  let portForward: StartedProcess | undefined
  let stopProgress: () => void = () => undefined
  const stopAll = async () => {
    stopProgress()
    await portForward?.stop(2_000)
    await controlPlane?.stop()
  }
  try {
    say("starting a local Kubernetes cluster of one real node (first run: builds it, about 15 min on 2 cores)")
    const crdDir = repo("install/crd")
    const crds = (await readdir(crdDir)).filter((f) => f.endsWith(".yaml")).map((f) => join(crdDir, f))
    controlPlane = await unlessInterrupted(
      startControlPlane({ tier: "node", nodes: 0, realNodeTainted: false, crds, startTimeoutMs: 300_000 }),
    )
    const cp = controlPlane
    const kubectl = (args: ReadonlyArray<string>, input?: string) =>
      kubectlOk(cp.kubectlPath, cp.kubeconfigPath, args, input === undefined ? {} : { input })
    say(`cluster ready: node ${cp.realNode?.name}`)
    const api = makeKubeApi(cp.kubeConfig)

    // The install, as is: its Deployment runs two operator pods (leader election) from the image built from this
    // checkout, as the install's ServiceAccount under the install's ClusterRole.
    await kubectl(["apply", "--server-side", "--force-conflicts", "-k", repo("install")])
    say("applied install/ (kubectl apply -k install); the operator's pods:")
    stopProgress = watchProgress(api, "cartographer-system")
    await unlessInterrupted(
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
    )
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
    await unlessInterrupted(
      pollUntil(
        "the Workspace is Ready",
        async () => {
          const w = await api.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
            `/apis/mlops.aigency.com/v1alpha1/namespaces/${namespace}/workspaces/${name}`,
          )
          return w.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? true : undefined
        },
        { timeoutMs: 900_000, intervalMs: 2_000 },
      ),
    )
    stopProgress()
    // What the README tells users to run on a real cluster. It ends when the pod it forwards to goes (a rollout, a
    // restart): it is started again, as a user would.
    const forwardArgs = ["port-forward", "-n", namespace, `svc/${name}-orion-server`, `${port}:4200`]
    const forward = () => start(cp.kubectlPath, [`--kubeconfig=${cp.kubeconfigPath}`, ...forwardArgs])
    portForward = forward()
    await unlessInterrupted(
      pollUntil(
        `kubectl ${forwardArgs.join(" ")}`,
        async () => ((await fetch(`http://localhost:${port}/api/health`)).ok ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 500 },
      ),
    )
    process.stdout.write(
      `\n${bold(`Prefect UI of ${name}: http://localhost:${port}`)}   (kubectl ${forwardArgs.join(" ")})\n\n` +
        `Inspect the cluster with kubectl (${cp.kubectlPath}):\n` +
        `  export KUBECONFIG=${cp.kubeconfigPath}\n` +
        `  kubectl get workspaces,pods -A\n\n` +
        `Deploy a flow: PREFECT_API_URL=http://localhost:${port}/api, any work pool of the Workspace.\n` +
        "Ctrl-C stops everything (the cluster and its data are temporary).\n",
    )
    for (;;) {
      const ended = await Promise.race([interrupted.then(() => undefined), portForward.exited])
      if (ended === undefined) break
      say(`kubectl port-forward ended (${ended}); starting it again`)
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      portForward = forward()
    }
    say("stopping")
    await stopAll()
  } catch (error) {
    if (!(error instanceof Error && error.message === "interrupted")) {
      process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 1
    }
    say("stopping")
    await stopAll()
  }
}

await (values.cluster ? runAgainstCluster() : runLocally())
process.exit()
