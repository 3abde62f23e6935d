// Reads of the test cluster for the end-to-end suites: Workspace children by label, with the admin's eyes.
import type { KubeApi } from "../podrunner/index.js"

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
    readonly conditions?: ReadonlyArray<{ readonly type: string; readonly status: string; readonly message?: string }>
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
  networkpolicies: "/apis/networking.k8s.io/v1",
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

export const isReady = (pod: Pod) =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false
