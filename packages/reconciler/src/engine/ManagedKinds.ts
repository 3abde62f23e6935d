/**
 * The kinds a plan may apply, with their API descriptors: the engine watches each of them, applies and prunes
 * through them, and names their objects in messages the same way.
 */
import { Kinds, type KubeObject, type ResourceKind } from "@cartographer/k8s"
import type { ManagedKind } from "../plan/kube.js"

/** The API kind of each kind a plan may apply. */
export const managedKinds: { readonly [K in ManagedKind]: ResourceKind<KubeObject, "ReadWrite"> } = {
  Secret: Kinds.Secret,
  PersistentVolumeClaim: Kinds.PersistentVolumeClaim,
  Service: Kinds.Service,
  StatefulSet: Kinds.StatefulSet,
  Deployment: Kinds.Deployment,
  Job: Kinds.Job,
  CronJob: Kinds.CronJob,
  ServiceAccount: Kinds.ServiceAccount,
  Role: Kinds.Role,
  RoleBinding: Kinds.RoleBinding,
  NetworkPolicy: Kinds.NetworkPolicy,
  Ingress: Kinds.Ingress,
  HTTPRoute: Kinds.HTTPRoute,
  PodDisruptionBudget: Kinds.PodDisruptionBudget,
}

/**
 * Kinds a cluster serves only once their CRDs are installed, with what to tell the user when it does not: the engine
 * watches them as empty until then, and a Workspace that asks for one reports it as `Degraded`.
 */
export const optionalKinds: { readonly [K in ManagedKind]?: string } = {
  HTTPRoute:
    "the Gateway API is not installed in this cluster (the API server does not serve HTTPRoute, " +
    "gateway.networking.k8s.io/v1): install the Gateway API CRDs, or remove spec.workflows.server.httpRoute",
}

/** Every kind a plan may apply, each watched by the engine. */
export const managedKindNames = Object.keys(managedKinds) as ReadonlyArray<ManagedKind>

/** `Kind name`, as the status and the logs name a child. */
export const describeObject = (object: {
  readonly kind?: string | undefined
  readonly metadata?: { readonly name?: string }
}): string => `${object.kind ?? "object"} ${object.metadata?.name ?? "?"}`
