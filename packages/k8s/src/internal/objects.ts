/**
 * Objects and their API paths, as the client sends and receives them: REST paths from a kind descriptor, the
 * envelope check of what the server answers, and the checks and clean-up of what the client is about to write.
 */
import { Result } from "effect"
import { Decode, Invalid, type K8sErrorReason } from "../K8sError.js"
import type { Access, ResourceKind } from "../Kinds.js"
import { envelopeProblem, type KubeObject, type Live, type ObjectRef } from "../KubeObject.js"

type AnyKind = ResourceKind<KubeObject, Access>

const encode = encodeURIComponent

/** `/api/v1[/namespaces/ns]/plural` or `/apis/group/version[/namespaces/ns]/plural`. */
export const collectionPath = (kind: AnyKind, namespace?: string | undefined): string => {
  const root = kind.group === "" ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`
  const scope = kind.namespaced && namespace !== undefined && namespace !== "" ? `/namespaces/${encode(namespace)}` : ""
  return `${root}${scope}/${kind.plural}`
}

export const objectPath = (kind: AnyKind, ref: ObjectRef, subresource?: string): string =>
  `${collectionPath(kind, ref.namespace)}/${encode(ref.name)}${subresource === undefined ? "" : `/${subresource}`}`

/** `apps/v1 Deployment ns/name`, for operation names in errors and spans. */
export const describe = (kind: AnyKind, ref?: ObjectRef): string => {
  const base = `${kind.apiVersion} ${kind.kind}`
  if (ref === undefined) return base
  return kind.namespaced ? `${base} ${ref.namespace ?? "?"}/${ref.name}` : `${base} ${ref.name}`
}

/** The object's name and namespace as far as it states them, for operation names. */
export const refForLog = (object: KubeObject): ObjectRef | undefined =>
  object.metadata?.name === undefined ? undefined : { name: object.metadata.name, namespace: object.metadata.namespace }

/**
 * Checks the envelope of an object read from the server and fills `apiVersion`/`kind` (list items omit them).
 * `dryRun`: the answer to a dry-run write, where a would-be create has no uid/resourceVersion; they become `""`.
 * Only the envelope is checked: the body is `A` on the caller's word (see `KubeObject.ts`).
 */
export const toLive = <A extends KubeObject, X extends Access>(
  kind: ResourceKind<A, X>,
  value: unknown,
  dryRun = false,
): Result.Result<Live<A>, K8sErrorReason> => {
  const problem = envelopeProblem(value, dryRun)
  if (problem !== undefined) return Result.fail(new Decode({ message: `not a ${kind.kind}: ${problem}` }))
  let object = value as Live<A>
  const { uid, resourceVersion } = object.metadata as Partial<Live["metadata"]>
  if (uid === undefined || resourceVersion === undefined) {
    object = { ...object, metadata: { ...object.metadata, uid: uid ?? "", resourceVersion: resourceVersion ?? "" } }
  }
  return Result.succeed(
    object.apiVersion === undefined || object.kind === undefined
      ? { ...object, apiVersion: kind.apiVersion, kind: kind.kind }
      : object,
  )
}

/** Validates the name/namespace of an object about to be written, client-side. */
export const refOf = (kind: AnyKind, object: KubeObject): Result.Result<ObjectRef, K8sErrorReason> => {
  const name = object.metadata?.name
  if (name === undefined || name === "") {
    return Result.fail(new Invalid({ message: "metadata.name is required", causes: [{ field: "metadata.name" }] }))
  }
  const namespace = object.metadata?.namespace
  if (kind.namespaced && (namespace === undefined || namespace === "")) {
    return Result.fail(
      new Invalid({
        message: `${kind.kind} is namespaced: metadata.namespace is required`,
        causes: [{ field: "metadata.namespace" }],
      }),
    )
  }
  return Result.succeed(kind.namespaced ? { name, namespace } : { name })
}

/** Validates a reference to an object about to be read or deleted, client-side. */
export const checkRef = (kind: AnyKind, ref: ObjectRef): Result.Result<ObjectRef, K8sErrorReason> =>
  kind.namespaced && (ref.namespace === undefined || ref.namespace === "")
    ? Result.fail(new Invalid({ message: `${kind.kind} is namespaced: a namespace is required`, causes: [] }))
    : Result.succeed(ref)

/** The object with `apiVersion` and `kind` filled from the descriptor when it omits them. */
export const withType = (kind: AnyKind, object: KubeObject): KubeObject => ({
  ...object,
  apiVersion: object.apiVersion ?? kind.apiVersion,
  kind: object.kind ?? kind.kind,
})

/** Drops fields only the server may set and that would make an apply fail or claim nothing useful. */
export const forApply = (kind: AnyKind, object: KubeObject): KubeObject => {
  const { managedFields: _managedFields, ...metadata } = object.metadata ?? {}
  return { ...withType(kind, object), metadata }
}
