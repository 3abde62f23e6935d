// The runner's Node: registered like a kubelet registers its own (status given at creation), kept Ready by a
// heartbeat (its Lease in kube-node-lease every 10 s, its Ready condition every 40 s) so that the node lifecycle
// controller neither taints it nor evicts its pods. It carries no kwok annotation: kwok, which the harness starts
// with `--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake`, leaves it and its pods alone.
import { cpus, hostname } from "node:os"
import { ApiError, type KubeApi } from "../harness/kubeApi.js"

export const runnerNodeLabel = "cartographer.dev/pod-runner"
/** With `exclusive`, only pods that tolerate this taint are scheduled to the runner's node. */
export const runnerTaint = { key: runnerNodeLabel, value: "local", effect: "NoSchedule" } as const

// Generous capacity: requests are not enforced here, and a few Workspaces must fit on one node.
const resources = { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "100Gi" }

const micro = () => new Date().toISOString().replace("Z", "000Z")
const seconds = () => new Date().toISOString().replace(/\.\d{3}Z$/u, "Z")

const conditions = () => {
  const t = seconds()
  const c = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: t,
    lastTransitionTime: t,
  })
  return [
    c("Ready", "True", "KubeletReady", "cartographer pod runner is posting ready status"),
    c("MemoryPressure", "False", "KubeletHasSufficientMemory", "no memory pressure"),
    c("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure"),
    c("PIDPressure", "False", "KubeletHasSufficientPID", "no PID pressure"),
  ]
}

export interface LocalNode {
  readonly name: string
  readonly hostIp: string
  /** Stops the heartbeat and, unless `deregister` is false, deletes the Node and its Lease. */
  stop(deregister?: boolean): Promise<void>
}

export const registerNode = async (
  api: KubeApi,
  options: { readonly name: string; readonly exclusive: boolean; readonly log: (line: string) => void },
): Promise<LocalNode> => {
  const { name } = options
  const hostIp = "127.0.0.1"
  const body = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": process.arch === "arm64" ? "arm64" : "amd64",
        [runnerNodeLabel]: "true",
      },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: options.exclusive ? { taints: [runnerTaint] } : {},
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: conditions(),
      addresses: [
        { type: "InternalIP", address: hostIp },
        { type: "Hostname", address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: "",
        systemUUID: "",
        bootID: "",
        kernelVersion: "",
        osImage: `local processes on ${hostname()} (${cpus().length} cores)`,
        containerRuntimeVersion: "cartographer-podrunner://1",
        kubeletVersion: "v1.36.3",
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: process.arch === "arm64" ? "arm64" : "amd64",
      },
    },
  }
  try {
    await api.post("/api/v1/nodes", body)
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) throw error
    // A node of that name left by an earlier run: take it over.
    await api.mergePatch(`/api/v1/nodes/${name}`, { spec: body.spec, metadata: { labels: body.metadata.labels } })
    await api.mergePatch(`/api/v1/nodes/${name}/status`, { status: body.status })
  }

  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`
  const renewLease = async () => {
    const lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: "kube-node-lease" },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: micro() },
    }
    await api.apply(leasePath, lease, "cartographer-podrunner")
  }
  const postStatus = () => api.mergePatch(`/api/v1/nodes/${name}/status`, { status: { conditions: conditions() } })

  await renewLease()
  let beats = 0
  const timer = setInterval(() => {
    beats += 1
    void renewLease().catch((e) => options.log(`node lease: ${String(e)}`))
    if (beats % 4 === 0) void postStatus().catch((e) => options.log(`node status: ${String(e)}`))
  }, 10_000)
  timer.unref()

  return {
    name,
    hostIp,
    stop: async (deregister = true) => {
      clearInterval(timer)
      if (!deregister) return
      await api.delete(`/api/v1/nodes/${name}`).catch(() => undefined)
      await api.delete(leasePath).catch(() => undefined)
    },
  }
}
