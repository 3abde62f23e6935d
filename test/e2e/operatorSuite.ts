// The preamble of an end-to-end suite that runs whole Workspaces on the real node: its namespace (enforcing the
// restricted Pod Security profile, so every planned pod must pass it), the operator as shipped (`cartographer run`,
// as the install's ServiceAccount bound to the install's ClusterRole), and waits that print what the cluster and the
// operator were doing when they time out.
import { mkdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, expect } from "vitest"
import {
  type KubeApi,
  kubectl,
  makeKubeApi,
  type OperatorIdentity,
  operatorIdentity,
  pollUntil,
  sharedControlPlane,
  useNamespace,
  useRealNode,
} from "../harness/index.js"
import { type OperatorProcess, startOperatorProcess } from "../local/operatorProcess.js"
import { prefectVenv } from "../prefect/index.js"
import { serviceUrl } from "./cluster.js"
import { type DeployOptions, deployAndRun, type FlowRun, prefectApi } from "./prefect.js"

export const minutes = (n: number) => n * 60_000

export interface OperatorSuite {
  readonly namespace: string
  /** The admin's API client (inside the suite's tests only). */
  readonly api: () => KubeApi
  /** The operator's ServiceAccount (its `user` is how the audit log names the operator). */
  readonly identity: () => OperatorIdentity
  /** The namespace's Workspaces (with their status), pods and workloads, its last events, the operator's last lines. */
  readonly logs: () => Promise<string>
  /** Polls `check` until it returns a value; on timeout the error carries pods, events and the operator's log. */
  readonly until: <A>(what: string, check: () => Promise<A | undefined>, timeoutMs?: number) => Promise<A>
  /** `kubectl apply` of a manifest (YAML text) in the suite's namespace. */
  readonly apply: (manifest: string) => Promise<void>
  /** `kubectl patch workspace <name>` in the suite's namespace, as a user would change it. */
  readonly patchWorkspace: (name: string, type: "json" | "merge", patch: unknown) => Promise<void>
  /** `http://<pod IP>:<port>` of a Ready endpoint of the Service's named port, waiting for one. */
  readonly endpoint: (service: string, portName: string) => Promise<string>
  /** Workspace `workspace`'s server as the host reaches it (a Ready pod behind its Service), once there is one. */
  readonly serverUrl: (workspace: string) => Promise<string>
  /**
   * Deploys flows/hello.py to `pool` of the server at `url` as deployment `name` and starts one run, once a worker of
   * the pool is ONLINE: Ready says the worker's pod is, but the worker creates its work pool when it first polls, a
   * moment later, and a deployment to a pool that does not exist yet is refused. Resolves with the flow run's id.
   */
  readonly deployAndRun: (url: string, pool: string, name: string, options?: DeployOptions) => Promise<string>
  /** The flow run `id` of the server at `url`, once it reaches a final state. */
  readonly finishedFlowRun: (url: string, id: string, auth?: string) => Promise<FlowRun>
  /** Whether the Workspace's Ready condition is True. */
  readonly workspaceReady: (name: string) => Promise<boolean>
  /** A key of a Secret in the suite's namespace, decoded. */
  readonly secretValue: (secret: string, key: string) => Promise<string>
}

export const useOperatorSuite = (prefix: string): OperatorSuite => {
  const namespace = useNamespace(prefix)
  useRealNode(namespace, { exclusive: true })
  let api: KubeApi | undefined
  let identity: OperatorIdentity | undefined
  let operator: OperatorProcess | undefined

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
    // The scheduler's reasons: its events (events.k8s.io, with no lastTimestamp) sort first and fall off the tail.
    const pending = await kubectl([
      "get",
      "pods",
      "-n",
      namespace,
      "-o",
      "jsonpath={range .items[?(@.status.phase=='Pending')]}{.metadata.name}: {.status.conditions[?(@.type=='PodScheduled')].message}{'\\n'}{end}",
    ])
    return [
      `--- cluster\n${state.stdout}${state.stderr}`,
      `--- status\n${status.stdout}`,
      `--- pending pods\n${pending.stdout}`,
      `--- events (last lines)\n${events.stdout.split("\n").slice(-25).join("\n")}`,
      `--- operator (last lines)\n${operatorLog.split("\n").slice(-30).join("\n")}`,
    ].join("\n")
  }
  const until = <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = minutes(6)) =>
    pollUntil(what, check, { timeoutMs, intervalMs: 2_000, describe: () => "(see the logs above)" }).catch(
      async (error: Error) => {
        throw new Error(`${error.message}\n${await logs()}`)
      },
    )

  beforeAll(async () => {
    const { kubeConfig, workDir } = sharedControlPlane()
    api = makeKubeApi(kubeConfig)
    await prefectVenv()
    const labelled = await kubectl(["label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"])
    expect(labelled.code, labelled.stderr).toBe(0)
    const logDir = join(workDir, `e2e-${namespace}`)
    await mkdir(logDir, { recursive: true })
    identity = await operatorIdentity(namespace)
    operator = await startOperatorProcess({
      kubeconfigPath: identity.kubeconfigPath,
      namespaces: [namespace],
      logPath: join(logDir, "operator.log"),
    })
  }, minutes(15))

  afterAll(async () => {
    await operator?.stop()
    await identity?.remove()
  }, minutes(3))

  const admin = () => {
    if (api === undefined) throw new Error("the suite's API client exists inside its tests only")
    return api
  }
  return {
    namespace,
    api: admin,
    identity: () => {
      if (identity === undefined) throw new Error("the suite's operator runs inside its tests only")
      return identity
    },
    logs,
    until,
    apply: async (manifest) => {
      const applied = await kubectl(["apply", "-n", namespace, "-f", "-"], { input: manifest })
      expect(applied.code, applied.stderr).toBe(0)
    },
    patchWorkspace: async (name, type, patch) => {
      const patched = await kubectl([
        "patch",
        "workspace",
        name,
        "-n",
        namespace,
        `--type=${type}`,
        "-p",
        JSON.stringify(patch),
      ])
      expect(patched.code, patched.stderr).toBe(0)
    },
    endpoint: (service, portName) =>
      until(`Service ${service} has a Ready endpoint on ${portName}`, () =>
        serviceUrl(admin(), namespace, service, portName),
      ),
    serverUrl: (workspace) =>
      until("the server Service has a Ready endpoint", () =>
        serviceUrl(admin(), namespace, `${workspace}-orion-server`, "http-orion"),
      ),
    deployAndRun: async (url, pool, name, options = {}) => {
      await until(`a worker of pool ${pool} is ONLINE`, async () =>
        (
          await prefectApi(url, options.auth)
            .workers(pool)
            .catch(() => [])
        ).find((worker) => worker.status === "ONLINE"),
      )
      return deployAndRun(`${url}/api`, pool, name, options)
    },
    finishedFlowRun: (url, id, auth) =>
      until(`flow run ${id} reaches a final state`, () => prefectApi(url, auth).finishedFlowRun(id), minutes(8)),
    workspaceReady: async (name) => {
      const ws = await admin().get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
        `/apis/mlops.aigency.com/v1alpha1/namespaces/${namespace}/workspaces/${name}`,
      )
      return ws.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false
    },
    secretValue: async (secret, key) => {
      const got = await admin().get<{ data?: Record<string, string> }>(
        `/api/v1/namespaces/${namespace}/secrets/${secret}`,
      )
      const value = got.data?.[key]
      if (value === undefined) throw new Error(`Secret ${secret} has no key ${key}`)
      return Buffer.from(value, "base64").toString("utf8")
    },
  }
}
