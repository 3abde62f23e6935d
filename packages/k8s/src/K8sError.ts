/**
 * The one error type of `@cartographer/k8s`: a `K8sError` wrapping a closed union of reasons, and whether retrying
 * can help, decided for every reason in one place. Effect's `SqlError` is the model.
 *
 * Classification from HTTP statuses, `Status` bodies, client-node exceptions and undici network errors happens in
 * exactly one place, `internal/classify.ts`; nothing else constructs reasons from raw failures.
 */
import { Duration, Schema } from "effect"

/** The Schema identifier of a reason class. */
const reasonId = (tag: string) => `@cartographer/k8s/K8sError/${tag}`

const ReasonFields = {
  /** Human-readable explanation, usually the API server's `Status.message`. */
  message: Schema.String,
  /** HTTP status code when the failure came from an HTTP response. */
  status: Schema.optionalKey(Schema.Int),
}

/** A reason the server may come with a `Retry-After` for (`Retry-After` header, else `Status.details`). */
const RetryFields = { ...ReasonFields, retryAfterSeconds: Schema.optionalKey(Schema.Finite) }

/** One entry of `Status.details.causes`: a field path and what is wrong with it. */
export const StatusCause = Schema.Struct({
  reason: Schema.optionalKey(Schema.String),
  message: Schema.optionalKey(Schema.String),
  field: Schema.optionalKey(Schema.String),
})
export type StatusCause = typeof StatusCause.Type

/** A reason the request itself caused, with the fields the server named (`Status.details.causes`). */
const CausedFields = { ...ReasonFields, causes: Schema.Array(StatusCause) }

/** 404: the object (or its namespace, or the resource type) does not exist. Not retryable. */
export class NotFound extends Schema.TaggedError<NotFound>(reasonId("NotFound"))("NotFound", ReasonFields) {}

/** 409 `AlreadyExists`: a create found the name taken. Not retryable as such. */
export class AlreadyExists extends Schema.TaggedError<AlreadyExists>(reasonId("AlreadyExists"))(
  "AlreadyExists",
  ReasonFields,
) {}

/**
 * 409 `Conflict`: an optimistic-concurrency precondition failed (stale resourceVersion or uid) — retryable after a
 * re-read — or, with `FieldManagerConflict` causes, a non-forced apply touched fields another manager owns, which
 * repeating the same request cannot fix.
 */
export class Conflict extends Schema.TaggedError<Conflict>(reasonId("Conflict"))("Conflict", CausedFields) {
  get isFieldManagerConflict(): boolean {
    return this.causes.some((cause) => cause.reason === "FieldManagerConflict")
  }
}

/** 422 (and other 4xx the server uses for bad requests: 400, 405, 406, 413, 415): the request is wrong. */
export class Invalid extends Schema.TaggedError<Invalid>(reasonId("Invalid"))("Invalid", CausedFields) {}

/** 403: RBAC denies the request. Not retryable: permissions do not fix themselves. */
export class Forbidden extends Schema.TaggedError<Forbidden>(reasonId("Forbidden"))("Forbidden", ReasonFields) {}

/** 401: the credentials were rejected. Not retryable. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>(reasonId("Unauthorized"))(
  "Unauthorized",
  ReasonFields,
) {}

/**
 * 410 `Gone`/`Expired`: the resourceVersion (or list continue token) is older than the server's history. Retryable
 * after a fresh list; the watch stream does exactly that.
 */
export class Gone extends Schema.TaggedError<Gone>(reasonId("Gone"))("Gone", ReasonFields) {}

/** 429: API Priority & Fairness throttled the request. Retryable, after `retryAfterSeconds` when the server said. */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>(reasonId("TooManyRequests"))(
  "TooManyRequests",
  RetryFields,
) {}

/** 504, 408, 500 `ServerTimeout`, a client-side request deadline, or a silent watch. Retryable. */
export class Timeout extends Schema.TaggedError<Timeout>(reasonId("Timeout"))("Timeout", {
  ...RetryFields,
  /** An open watch connection that stayed silent past its inactivity timeout (not a failure to connect). */
  silent: Schema.optionalKey(Schema.Literal(true)),
}) {}

/** 500, 502, 503 and other 5xx: the server (or something in front of it) failed. Retryable. */
export class Unavailable extends Schema.TaggedError<Unavailable>(reasonId("Unavailable"))("Unavailable", RetryFields) {}

/** Error codes of TLS verification failures: retrying against the same server cannot succeed. */
const tlsVerificationCodes: ReadonlySet<string> = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
])

/**
 * The request did not get an HTTP answer: connection refused or reset, DNS, TLS, socket closed mid-body, or the
 * credentials could not be prepared. Retryable, except TLS verification failures.
 */
export class Transport extends Schema.TaggedError<Transport>(reasonId("Transport"))("Transport", {
  ...ReasonFields,
  /** The system / undici error code (`ECONNREFUSED`, `UND_ERR_SOCKET`, …) when there is one. */
  code: Schema.optionalKey(Schema.String),
  cause: Schema.optionalKey(Schema.Defect()),
}) {}

/** The server answered 2xx but the body was not the JSON we expect. Not retryable. */
export class Decode extends Schema.TaggedError<Decode>(reasonId("Decode"))("Decode", {
  ...ReasonFields,
  cause: Schema.optionalKey(Schema.Defect()),
}) {}

/** The closed union of reasons. */
export const K8sErrorReason = Schema.Union([
  NotFound,
  AlreadyExists,
  Conflict,
  Invalid,
  Forbidden,
  Unauthorized,
  Gone,
  TooManyRequests,
  Timeout,
  Unavailable,
  Transport,
  Decode,
])
export type K8sErrorReason = typeof K8sErrorReason.Type

/** Whether retrying can help, for every reason: decided here, in one place. */
const isRetryableReason = (reason: K8sErrorReason): boolean => {
  switch (reason._tag) {
    case "Gone":
    case "TooManyRequests":
    case "Timeout":
    case "Unavailable":
      return true
    // A stale precondition is fixed by a re-read; a field manager conflict is not fixed by repeating the request.
    case "Conflict":
      return !reason.isFieldManagerConflict
    // A failure without an HTTP answer may pass, except a TLS verification failure against the same server.
    case "Transport":
      return reason.code === undefined || !tlsVerificationCodes.has(reason.code)
    default:
      return false
  }
}

/**
 * A failed Kubernetes API operation. `reason` says what happened; `isRetryable` whether trying again can help;
 * `operation` names the request (`apply apps/v1 Deployment ns/name`) for logs.
 */
export class K8sError extends Schema.TaggedError<K8sError>("@cartographer/k8s/K8sError")("K8sError", {
  reason: K8sErrorReason,
  operation: Schema.optionalKey(Schema.String),
}) {
  override get message(): string {
    const prefix = this.operation === undefined ? "" : `${this.operation}: `
    return `${prefix}${this.reason._tag}: ${this.reason.message}`
  }

  get isRetryable(): boolean {
    return isRetryableReason(this.reason)
  }

  /** How long the server asked us to wait, when it did (429, 5xx with `Retry-After`, `ServerTimeout`). */
  get retryAfter(): Duration.Duration | undefined {
    const reason = this.reason
    if ("retryAfterSeconds" in reason && reason.retryAfterSeconds !== undefined) {
      return Duration.seconds(reason.retryAfterSeconds)
    }
    return undefined
  }
}
