/**
 * Why a reconcile did not finish, with whether retrying can help. Classified once, here, from the API's
 * `K8sError`: the work queue retries what is retryable with backoff and reports the rest in the Workspace status.
 */
import type { K8sError } from "@cartographer/k8s"
import { Duration, Schema } from "effect"

/** The Schema identifier of a reason class. */
const reasonId = (tag: string) => `@cartographer/reconciler/${tag}`

const Fields = {
  /** The Workspace (`namespace/name`). */
  key: Schema.String,
  message: Schema.String,
}

/** The API server failed or throttled a request: try again after the backoff (or its `Retry-After`). */
export class ApiUnavailable extends Schema.TaggedError<ApiUnavailable>(reasonId("ApiUnavailable"))("ApiUnavailable", {
  ...Fields,
  retryAfterSeconds: Schema.optionalKey(Schema.Finite),
}) {}

/**
 * The API server refused a child for good: invalid (422), forbidden by policy (an admission webhook, a quota, a
 * namespace being deleted), or its namespace does not exist. Repeating the request at once cannot help; the
 * Workspace reports it as `Degraded/ApplyRejected`. `external`: what refused it lies outside the Workspace (a
 * namespace still to be created, a quota, a policy) and may change without the Workspace changing, so the engine
 * looks again after a while; an invalid object (422) waits for the next spec change.
 */
export class ChildRejected extends Schema.TaggedError<ChildRejected>(reasonId("ChildRejected"))("ChildRejected", {
  ...Fields,
  object: Schema.String,
  status: Schema.optionalKey(Schema.Int),
  external: Schema.Boolean,
}) {}

/**
 * A child's name is taken by an object another owner controls (a Workspace deleted and re-created while the
 * garbage collector still removes the old children, or two Workspaces whose derived names collide). Retried with
 * backoff: the first case resolves itself; the second is reported as `Degraded/OwnershipConflict`.
 */
export class OwnershipConflict extends Schema.TaggedError<OwnershipConflict>(reasonId("OwnershipConflict"))(
  "OwnershipConflict",
  { ...Fields, objects: Schema.Array(Schema.String) },
) {}

/** The Workspace fails the Schema: nothing is written but its status (`Degraded/InvalidSpec`). */
export class InvalidSpec extends Schema.TaggedError<InvalidSpec>(reasonId("InvalidSpec"))("InvalidSpec", Fields) {}

export const ReconcileErrorReason = Schema.Union([ApiUnavailable, ChildRejected, OwnershipConflict, InvalidSpec])
export type ReconcileErrorReason = typeof ReconcileErrorReason.Type

/** A reconcile that did not complete. */
export class ReconcileError extends Schema.TaggedError<ReconcileError>("@cartographer/reconciler/ReconcileError")(
  "ReconcileError",
  { reason: ReconcileErrorReason },
) {
  override get message(): string {
    return `${this.reason.key}: ${this.reason._tag}: ${this.reason.message}`
  }
  /** API failures and ownership conflicts may pass; a refused child and an invalid spec wait for a change. */
  get isRetryable(): boolean {
    return this.reason._tag === "ApiUnavailable" || this.reason._tag === "OwnershipConflict"
  }
  get retryAfter(): Duration.Duration | undefined {
    return "retryAfterSeconds" in this.reason && this.reason.retryAfterSeconds !== undefined
      ? Duration.seconds(this.reason.retryAfterSeconds)
      : undefined
  }
}

/** An RBAC denial ("User … cannot patch resource …"), as opposed to a policy's (admission, quota, terminating namespace). */
const rbacDenial = /\bcannot [a-z]+ resource\b/u

/**
 * Whether the engine retries a failed request: the API's own `isRetryable`, and two 4xx that are usually transient
 * for a controller:
 * - `Unauthorized`: a token that expired is rotated on disk by the kubelet and re-read;
 * - `Forbidden` by RBAC: a freshly (re)started API server denies everything until its authorizer has synced (seen in
 *   the restart test), and a missing grant is fixed by an administrator, not by the Workspace's author. Forbidden by
 *   policy — an admission webhook, a quota, a namespace being deleted — is not: the same request cannot succeed.
 */
export const isRetryableRequest = (error: K8sError): boolean =>
  error.isRetryable ||
  error.reason._tag === "Unauthorized" ||
  (error.reason._tag === "Forbidden" && rbacDenial.test(error.reason.message))

/** The reason for a request that failed while reconciling `key`. */
export const classify = (key: string, object: string, error: K8sError): ReconcileErrorReason =>
  isRetryableRequest(error)
    ? new ApiUnavailable({
        key,
        message: error.message,
        ...(error.retryAfter === undefined ? {} : { retryAfterSeconds: Duration.toSeconds(error.retryAfter) }),
      })
    : new ChildRejected({
        key,
        object,
        message: error.message,
        ...(error.reason.status === undefined ? {} : { status: error.reason.status }),
        external: error.reason._tag === "NotFound" || error.reason._tag === "Forbidden",
      })
