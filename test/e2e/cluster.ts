// Reads of the test cluster for the end-to-end suites: Workspace children by label, with the admin's eyes; a
// Service's address as the host reaches it on the real node; container logs as `kubectl logs` shows them.
import { type KubeApi, kubectl } from "../harness/index.js"

export interface Meta {
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly uid?: string
    readonly creationTimestamp?: string
    readonly labels?: Record<string, string>
    readonly annotations?: Record<string, string>
  }
}

export interface Job extends Meta {
  readonly status?: {
    readonly completionTime?: string
    readonly conditions?: ReadonlyArray<{
      readonly type: string
      readonly status: string
      readonly reason?: string
      readonly message?: string
    }>
  }
}

export interface Deployment extends Meta {
  readonly spec: {
    readonly replicas?: number
    readonly template: { readonly spec: { readonly containers: ReadonlyArray<{ name: string; image: string }> } }
  }
  readonly status?: { readonly readyReplicas?: number; readonly updatedReplicas?: number; readonly replicas?: number }
}

export interface Pod extends Meta {
  readonly spec: { readonly nodeName?: string; readonly containers: ReadonlyArray<{ name: string; image: string }> }
  readonly status?: {
    readonly phase?: string
    readonly conditions?: ReadonlyArray<{ readonly type: string; readonly status: string }>
  }
}

export const environmentLabel = "mlops.aigency.com/environment"
export const componentLabel = "mlops.aigency.com/component"

/** Every kind a Workspace owns, by API path segment. */
export const childKinds = {
  secrets: "/api/v1",
  services: "/api/v1",
  serviceaccounts: "/api/v1",
  persistentvolumeclaims: "/api/v1",
  pods: "/api/v1",
  configmaps: "/api/v1",
  deployments: "/apis/apps/v1",
  statefulsets: "/apis/apps/v1",
  jobs: "/apis/batch/v1",
  cronjobs: "/apis/batch/v1",
  networkpolicies: "/apis/networking.k8s.io/v1",
  poddisruptionbudgets: "/apis/policy/v1",
  roles: "/apis/rbac.authorization.k8s.io/v1",
  rolebindings: "/apis/rbac.authorization.k8s.io/v1",
} as const

export const listChildren = async <A extends Meta>(
  api: KubeApi,
  namespace: string,
  kind: keyof typeof childKinds,
  selector: string,
): Promise<ReadonlyArray<A>> => {
  const list = await api.get<{ items: Array<A> }>(
    `${childKinds[kind]}/namespaces/${namespace}/${kind}?labelSelector=${encodeURIComponent(selector)}`,
  )
  return list.items
}

export const isComplete = (job: Job) =>
  job.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") ?? false

/** The Job `name` of `namespace` once it has completed; undefined before (a poll's check). */
export const completedJob = async (api: KubeApi, namespace: string, name: string): Promise<Job | undefined> => {
  const jobs = await api.get<{ items: Array<Job> }>(`/apis/batch/v1/namespaces/${namespace}/jobs`)
  return jobs.items.find((j) => j.metadata.name === name && isComplete(j))
}

export const isReady = (pod: Pod) =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false

interface EndpointSlice {
  readonly endpoints?: ReadonlyArray<{
    readonly addresses: ReadonlyArray<string>
    readonly conditions?: { readonly ready?: boolean }
  }>
  readonly ports?: ReadonlyArray<{ readonly name?: string; readonly port?: number }>
}

/**
 * `http://<pod IP>:<port>` of a Ready endpoint of the Service, as kube-proxy would pick one: the host reaches the
 * real node's pods (not its ClusterIPs, which only exist inside the node). Undefined while none is Ready.
 */
export const serviceUrl = async (
  api: KubeApi,
  namespace: string,
  service: string,
  portName: string,
): Promise<string | undefined> => {
  const slices = await api.get<{ items: ReadonlyArray<EndpointSlice> }>(
    `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`,
  )
  for (const slice of slices.items) {
    const port = slice.ports?.find((p) => p.name === portName)?.port
    const ready = slice.endpoints?.find((e) => e.conditions?.ready === true)?.addresses[0]
    if (port !== undefined && ready !== undefined) return `http://${ready}:${port}`
  }
  return undefined
}

/** The logs of every container `container` of the pods selected, as `kubectl logs` shows them (kubelet's). */
export const containerLogs = async (namespace: string, selector: string, container: string): Promise<string> => {
  const got = await kubectl(["logs", "-n", namespace, "-l", selector, "-c", container, "--tail=-1", "--prefix"])
  return got.stdout
}
