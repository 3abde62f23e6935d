/**
 * Kubernetes objects as plain JSON, the way the API server sends them (timestamps are RFC 3339 strings, not
 * `Date`s). Only the envelope — `apiVersion`, `kind`, `metadata` — is typed and checked here; a kind's body is the
 * caller's business (the Workspace is decoded with its own Schema by the engine, where a failure becomes a status
 * condition rather than a dropped event).
 */
import { Schema } from "effect"

export interface OwnerReference {
  readonly apiVersion: string
  readonly kind: string
  readonly name: string
  readonly uid: string
  readonly controller?: boolean
  readonly blockOwnerDeletion?: boolean
}

export interface ObjectMeta {
  readonly name?: string
  readonly generateName?: string
  readonly namespace?: string
  readonly uid?: string
  readonly resourceVersion?: string
  readonly generation?: number
  readonly creationTimestamp?: string
  readonly deletionTimestamp?: string
  readonly deletionGracePeriodSeconds?: number
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
  readonly ownerReferences?: ReadonlyArray<OwnerReference>
  readonly finalizers?: ReadonlyArray<string>
  readonly managedFields?: ReadonlyArray<unknown>
}

/** Any Kubernetes object. The body (`spec`, `status`, `data`, …) is untyped unless a kind says otherwise. */
export interface KubeObject {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata?: ObjectMeta
  readonly [field: string]: unknown
}

/**
 * Metadata of an object read from the server: these fields are always present (and checked on decode). The one
 * exception is the answer to a dry-run write that would create the object: nothing was persisted, so the server gives
 * it no resourceVersion (and, for an apply, no uid); the client reports those as `""`.
 */
export interface LiveMeta extends ObjectMeta {
  readonly name: string
  readonly uid: string
  readonly resourceVersion: string
}

/** An object as read from the server: envelope complete and checked. */
export type Live<A extends KubeObject = KubeObject> = A & {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: LiveMeta
}

/** Names one object. `namespace` is ignored for cluster-scoped kinds and required for namespaced ones. */
export interface ObjectRef {
  readonly name: string
  readonly namespace?: string | undefined
}

/**
 * The cache key of an object: `namespace/name`, or `name` for cluster-scoped objects (client-go's
 * `MetaNamespaceKeyFunc`).
 */
export const objectKey = (ref: { readonly name: string; readonly namespace?: string | undefined }): string =>
  ref.namespace === undefined || ref.namespace === "" ? ref.name : `${ref.namespace}/${ref.name}`

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Checks the envelope of an object read from the server (the body passes through untouched) and says what is wrong
 * with it, path first, or `undefined` when it is a live object. A plain structural check rather than a Schema decode:
 * it runs on every watch event and list item and reads five fields, so it allocates nothing on the hot path.
 * `wouldBeCreated`: the answer to a dry-run write, where an object that does not exist yet has no uid or
 * resourceVersion.
 */
export const envelopeProblem = (value: unknown, wouldBeCreated = false): string | undefined => {
  if (!isObject(value)) return "expected an object"
  for (const field of ["apiVersion", "kind"] as const) {
    if (value[field] !== undefined && typeof value[field] !== "string") return `${field}: expected a string`
  }
  const metadata = value.metadata
  if (!isObject(metadata)) return "metadata: expected an object"
  if (typeof metadata.name !== "string") return "metadata.name: expected a string"
  if (metadata.namespace !== undefined && typeof metadata.namespace !== "string") {
    return "metadata.namespace: expected a string"
  }
  for (const field of ["uid", "resourceVersion"] as const) {
    const present = metadata[field]
    if (typeof present === "string" || (wouldBeCreated && present === undefined)) continue
    return `metadata.${field}: expected a string`
  }
  return undefined
}

/** The envelope of a list response: `metadata.resourceVersion` and `metadata.continue`, plus the items. */
export const ListEnvelope = Schema.Struct({
  metadata: Schema.Struct({
    resourceVersion: Schema.String,
    continue: Schema.optionalKey(Schema.String),
  }),
  items: Schema.Array(Schema.Unknown),
})

/**
 * `coordination.k8s.io/v1` Lease. Times are `MicroTime` strings (RFC 3339 with microseconds).
 */
export interface Lease extends KubeObject {
  readonly spec?: {
    readonly holderIdentity?: string
    readonly leaseDurationSeconds?: number
    readonly acquireTime?: string
    readonly renewTime?: string
    readonly leaseTransitions?: number
    readonly [field: string]: unknown
  }
}

/** `core/v1` ObjectReference as used by `events.k8s.io/v1` `regarding` / `related`. */
export interface ObjectReference {
  readonly apiVersion?: string
  readonly kind?: string
  readonly name?: string
  readonly namespace?: string
  readonly uid?: string
  readonly resourceVersion?: string
  readonly fieldPath?: string
}

/** `events.k8s.io/v1` Event. */
export interface KubeEvent extends KubeObject {
  readonly eventTime?: string
  readonly series?: { readonly count: number; readonly lastObservedTime: string }
  readonly reportingController?: string
  readonly reportingInstance?: string
  readonly action?: string
  readonly reason?: string
  readonly regarding?: ObjectReference
  readonly related?: ObjectReference
  readonly note?: string
  readonly type?: "Normal" | "Warning"
}
