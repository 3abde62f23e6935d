/**
 * One descriptor per kind (group, version, plural, scope): the client is table-driven over raw API paths, so
 * adding a kind is one line here rather than another generated API class.
 */
import type { KubeEvent, KubeObject, Lease } from "./KubeObject.js"

/** Whether the client may write a kind. Pods are read-only to Cartographer; the type system keeps them so. */
export type Access = "ReadWrite" | "ReadOnly"

/**
 * Describes a resource type. `A` is the object type reads return (checked only in its envelope); `Access`
 * decides whether `apply`/`applyStatus`/`delete`/`create`/`replace` accept the kind.
 */
export interface ResourceKind<A extends KubeObject = KubeObject, _Access extends Access = "ReadWrite"> {
  /** API group; `""` for the core group. */
  readonly group: string
  readonly version: string
  readonly kind: string
  /** Lower-case plural used in paths (`deployments`). */
  readonly plural: string
  readonly namespaced: boolean
  /** `group/version`, or `version` for the core group. */
  readonly apiVersion: string
  /** Phantom: never set at runtime, it carries the object and access types. */
  readonly "~types"?: { readonly object: A; readonly access: _Access }
}

/** A descriptor for a kind this table does not list (e.g. a test CRD). */
export const resourceKind = <A extends KubeObject = KubeObject, _Access extends Access = "ReadWrite">(options: {
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly plural: string
  readonly namespaced: boolean
}): ResourceKind<A, _Access> => ({
  ...options,
  apiVersion: options.group === "" ? options.version : `${options.group}/${options.version}`,
})

const namespaced = <A extends KubeObject = KubeObject, _Access extends Access = "ReadWrite">(
  group: string,
  version: string,
  kind: string,
  plural: string,
) => resourceKind<A, _Access>({ group, version, kind, plural, namespaced: true })

/** The kinds Cartographer manages and reads. */
export const Kinds = {
  Workspace: namespaced("mlops.aigency.com", "v1alpha1", "Workspace", "workspaces"),
  Secret: namespaced("", "v1", "Secret", "secrets"),
  Service: namespaced("", "v1", "Service", "services"),
  ServiceAccount: namespaced("", "v1", "ServiceAccount", "serviceaccounts"),
  PersistentVolumeClaim: namespaced("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
  ConfigMap: namespaced("", "v1", "ConfigMap", "configmaps"),
  Deployment: namespaced("apps", "v1", "Deployment", "deployments"),
  StatefulSet: namespaced("apps", "v1", "StatefulSet", "statefulsets"),
  Job: namespaced("batch", "v1", "Job", "jobs"),
  CronJob: namespaced("batch", "v1", "CronJob", "cronjobs"),
  Role: namespaced("rbac.authorization.k8s.io", "v1", "Role", "roles"),
  RoleBinding: namespaced("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
  NetworkPolicy: namespaced("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
  Ingress: namespaced("networking.k8s.io", "v1", "Ingress", "ingresses"),
  /** Gateway API: served only where its CRDs are installed. */
  HTTPRoute: namespaced("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
  PodDisruptionBudget: namespaced("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
  Lease: namespaced<Lease>("coordination.k8s.io", "v1", "Lease", "leases"),
  Event: namespaced<KubeEvent>("events.k8s.io", "v1", "Event", "events"),
  Pod: namespaced<KubeObject, "ReadOnly">("", "v1", "Pod", "pods"),
  /** The core Events kubelet and the scheduler write about pods (read only, to say why a pod does not start). */
  PodEvent: namespaced<KubeObject, "ReadOnly">("", "v1", "Event", "events"),
  Namespace: resourceKind({ group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false }),
} as const
