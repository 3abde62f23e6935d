// REST paths of the objects the planner produces (and of Workspaces), from @cartographer/k8s's kind table.
import { Kinds } from "@cartographer/k8s"

export interface ObjectLike {
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string | undefined }
}

const kinds = Kinds as Record<string, { group: string; version: string; plural: string; namespaced: boolean }>

export const collectionPath = (kind: string, namespace?: string): string => {
  const k = kinds[kind]
  if (k === undefined) throw new Error(`no kind ${kind} in @cartographer/k8s Kinds`)
  const root = k.group === "" ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`
  return k.namespaced && namespace !== undefined ? `${root}/namespaces/${namespace}/${k.plural}` : `${root}/${k.plural}`
}

export const objectPath = (object: ObjectLike, subresource?: "status"): string =>
  `${collectionPath(object.kind, object.metadata.namespace)}/${object.metadata.name}${subresource ? `/${subresource}` : ""}`

/** The audit log's `objectRef.resource` of a kind (`deployments`). */
export const resourceOf = (kind: string): string => {
  const k = kinds[kind]
  if (k === undefined) throw new Error(`no kind ${kind} in @cartographer/k8s Kinds`)
  return k.plural
}
