// What every end-to-end suite that runs Workspaces sets up around its namespace: the namespace enforcing the
// restricted Pod Security profile (every planned pod must pass it), the operator as shipped (`cartographer run` as its
// own process, as the install's ServiceAccount bound to the install's ClusterRole, for that namespace only), the
// Prefect client's venv, and polls that, when they time out, say what the cluster and the operator were doing.
import { mkdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import {
  type KubeApi,
  kubectl,
  kubectlStdout,
  makeKubeApi,
  type OperatorIdentity,
  operatorIdentity,
  pollUntil,
  sharedControlPlane,
} from "../harness/index.js"
import { type OperatorProcess, startOperatorProcess } from "../local/operatorProcess.js"
import { prefectVenv } from "../prefect/index.js"
import { serviceUrl } from "./cluster.js"
import { prefectApi } from "./prefect.js"

export interface OperatorSuite {
  /** The admin's API client. */
  readonly api: () => KubeApi
  /** The operator's ServiceAccount (its `user` is how the audit log names the operator). */
  readonly identity: () => OperatorIdentity
  /** The namespace's Workspaces (with their status), pods and workloads, its last events, the operator's last lines. */
  readonly logs: () => Promise<string>
  /** Polls `check` every 2 s until it gives a value (default: for 6 minutes); on time-out, fails with `logs()`. */
  readonly until: <A>(what: string, check: () => Promise<A | undefined>, timeoutMs?: number) => Promise<A>
  /** Workspace `workspace`'s server as the host reaches it (a Ready pod behind its Service), once there is one. */
  readonly serverUrl: (workspace: string) => Promise<string>
  /**
   * Once a worker of `pool` has polled the server at `url`: Ready says the worker's pod is, but the worker creates its
   * work pool when it first polls, a moment later, and a deployment to a pool that does not exist yet is refused.
   */
  readonly workerPolls: (url: string, pool: string) => Promise<void>
}

const minutes = (n: number) => n * 60_000

/** Registers the suite's beforeAll/afterAll (call it before the suite's own hooks, which then find it running). */
export const useOperatorSuite = (namespace: string): OperatorSuite => {
  let api: KubeApi | undefined
  let identity: OperatorIdentity | undefined
  let operator: OperatorProcess | undefined
  const started = <A>(value: A | undefined): A => {
    if (value === undefined) throw new Error("the suite's operator runs inside its tests only")
    return value
  }

  beforeAll(async () => {
    const { kubeConfig, workDir } = sharedControlPlane()
    api = makeKubeApi(kubeConfig)
    await prefectVenv()
    await kubectlStdout(["label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"])
    const logDir = join(workDir, `e2e-${namespace}`)
    await mkdir(logDir, { recursive: true })
    identity = await operatorIdentity(namespace)
    operator = await startOperatorProcess({
      kubeconfigPath: identity.kubeconfigPath,
      namespaces: [namespace],
      logPath: join(logDir, "operator.log"),
    })
  }, minutes(10))

  afterAll(async () => {
    await operator?.stop()
    await identity?.remove()
  }, minutes(3))

  const logs = async () => {
    const operatorLog = operator === undefined ? "" : await readFile(operator.logPath, "utf8").catch(() => "")
    const kinds = "workspaces,pods,jobs,deployments,statefulsets,pvc"
    const state = await kubectl(["get", kinds, "-n", namespace, "-o", "wide"])
    const status = await kubectl([
      "get",
      "workspaces",
      "-n",
      namespace,
      "-o",
      "jsonpath={range .items[*]}{.metadata.name}: {.status}{'\\n'}{end}",
    ])
    const events = await kubectl(["get", "events", "-n", namespace, "--sort-by=.lastTimestamp"])
    return [
      `--- cluster\n${state.stdout}${state.stderr}`,
      `--- status\n${status.stdout}`,
      `--- events (last lines)\n${events.stdout.split("\n").slice(-25).join("\n")}`,
      `--- operator (last lines)\n${operatorLog.split("\n").slice(-30).join("\n")}`,
    ].join("\n")
  }

  const until: OperatorSuite["until"] = (what, check, timeoutMs = minutes(6)) =>
    pollUntil(what, check, { timeoutMs, intervalMs: 2_000, describe: () => "(see the logs above)" }).catch(
      async (error: Error) => {
        throw new Error(`${error.message}\n${await logs()}`)
      },
    )

  return {
    api: () => started(api),
    identity: () => started(identity),
    logs,
    until,
    serverUrl: (workspace) =>
      until("the server Service has a Ready endpoint", () =>
        serviceUrl(started(api), namespace, `${workspace}-orion-server`, "http-orion"),
      ),
    workerPolls: async (url, pool) => {
      await until(
        `a worker of pool ${pool} polls the server`,
        async () =>
          (
            await prefectApi(url)
              .workers(pool)
              .catch(() => [])
          ).length > 0
            ? true
            : undefined,
        minutes(3),
      )
    },
  }
}
