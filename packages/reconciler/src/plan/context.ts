/**
 * What every planning module needs to know about the Workspace, computed once per plan: its name, namespace, uid and
 * generation, and how to build the metadata of a child (labels, controller ownerReference).
 */
import type { Workflows, Workspace } from "@cartographer/schema"
import { apiVersion, kind } from "@cartographer/schema"
import type { Labels, ObjectMeta, OwnerReference } from "./kube.js"

export interface PlanContext {
  readonly workspace: Workspace
  readonly workflows: Workflows
  /** `metadata.name`. */
  readonly name: string
  /** `metadata.namespace`, or `default` when a file leaves it out (as kubectl would). */
  readonly namespace: string
  /** The controller ownerReference of namespaced children; absent when the Workspace has no uid (offline). */
  readonly owner: OwnerReference | undefined
  readonly generation: number | undefined
}

export const defaultNamespace = "default"

export const contextOf = (workspace: Workspace): PlanContext => {
  const { name, namespace, uid, generation } = workspace.metadata
  return {
    workspace,
    workflows: workspace.spec.workflows,
    name,
    namespace: namespace ?? defaultNamespace,
    owner:
      uid === undefined || uid === ""
        ? undefined
        : { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true },
    generation,
  }
}

export interface MetaOptions {
  readonly annotations?: Readonly<Record<string, string>>
  /**
   * Whether the Workspace is the controller owner (default true), so that Kubernetes' garbage collector deletes the
   * child with it. False for what must outlive it (the retained database volume) and for objects in another namespace
   * (cross-namespace owner references are invalid and would make the collector delete the object at once).
   */
  readonly owned?: boolean
  /** Defaults to the Workspace's namespace. */
  readonly namespace?: string
}

export const metadata = (ctx: PlanContext, name: string, labels: Labels, options: MetaOptions = {}): ObjectMeta => {
  const owned = (options.owned ?? true) && ctx.owner !== undefined
  return {
    name,
    namespace: options.namespace ?? ctx.namespace,
    labels,
    ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    ...(owned && ctx.owner !== undefined ? { ownerReferences: [ctx.owner] } : {}),
  }
}
