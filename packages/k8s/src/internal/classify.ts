/**
 * The single classifier: every way a Kubernetes request can fail becomes one `K8sErrorReason` here, and nowhere
 * else. Inputs: an HTTP response (status, headers, raw body text with an optional `Status` object), a `Status`
 * object alone (watch `ERROR` events), and thrown values (undici network errors with a `code`, possibly nested in
 * `cause`, `DOMException` timeouts and aborts, JSON `SyntaxError`s). The client speaks REST through `http.ts`, never
 * through client-node's typed APIs, so their `ApiException` never reaches this module.
 *
 * `Status.reason` wins over the HTTP code when present (a 409 can be `AlreadyExists` or `Conflict`, a 500 can be a
 * `ServerTimeout`); unknown reasons fall back to the code.
 */
import { Predicate, Result, Schema } from "effect"
import {
  AlreadyExists,
  Conflict,
  Decode,
  Forbidden,
  Gone,
  Invalid,
  type K8sErrorReason,
  NotFound,
  type StatusCause,
  Timeout,
  TooManyRequests,
  Transport,
  Unauthorized,
  Unavailable,
} from "../K8sError.js"

/** The parts of a `metav1.Status` the classifier reads. */
export interface StatusBody {
  readonly code?: number | undefined
  readonly reason?: string | undefined
  readonly message?: string | undefined
  readonly causes: ReadonlyArray<StatusCause>
  readonly retryAfterSeconds?: number | undefined
}

const asString = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)
const asNumber = (u: unknown): number | undefined => (typeof u === "number" && Number.isFinite(u) ? u : undefined)

const parseCauses = (u: unknown): ReadonlyArray<StatusCause> => {
  if (!Array.isArray(u)) return []
  const causes: Array<StatusCause> = []
  for (const entry of u as ReadonlyArray<unknown>) {
    if (!Predicate.isObject(entry)) continue
    const reason = asString(Reflect.get(entry, "reason"))
    const message = asString(Reflect.get(entry, "message"))
    const field = asString(Reflect.get(entry, "field"))
    causes.push({
      ...(reason === undefined ? {} : { reason }),
      ...(message === undefined ? {} : { message }),
      ...(field === undefined ? {} : { field }),
    })
  }
  return causes
}

/** Reads a `metav1.Status` out of an already-parsed value; `undefined` when it is not one. */
export const statusFromObject = (u: unknown): StatusBody | undefined => {
  if (!Predicate.isObject(u) || Reflect.get(u, "kind") !== "Status") return undefined
  const details = Reflect.get(u, "details")
  const detailsObject = Predicate.isObject(details) ? details : undefined
  return {
    code: asNumber(Reflect.get(u, "code")),
    reason: asString(Reflect.get(u, "reason")),
    message: asString(Reflect.get(u, "message")),
    causes: detailsObject === undefined ? [] : parseCauses(Reflect.get(detailsObject, "causes")),
    retryAfterSeconds:
      detailsObject === undefined ? undefined : asNumber(Reflect.get(detailsObject, "retryAfterSeconds")),
  }
}

/** Reads a `metav1.Status` out of a raw response body; `undefined` when the body is not one (401 has none). */
export const statusFromBody = (body: string | undefined): StatusBody | undefined => {
  if (body === undefined || body.length === 0) return undefined
  const parsed = parseJson(body)
  return Result.isSuccess(parsed) ? statusFromObject(parsed.success) : undefined
}

const decodeJson = Schema.decodeUnknownResult(Schema.fromJsonString(Schema.Unknown))

/** Parses JSON text without throwing: the result says whether it parsed. */
export const parseJson = (text: string): Result.Result<unknown, Schema.SchemaError> => decodeJson(text)

/**
 * `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). Returns seconds, never negative;
 * `undefined` when absent or unparseable.
 */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/u.test(trimmed)) return Number(trimmed)
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, Math.ceil((date - nowMillis) / 1000))
}

const headerValue = (headers: Readonly<Record<string, string>>, name: string): string | undefined => {
  const lower = name.toLowerCase()
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === lower) return value
  }
  return undefined
}

/** What an HTTP response tells the classifier. */
export interface ResponseFailure {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** The raw body text (a JSON `Status` for API errors). */
  readonly body?: string | undefined
  /** For `Retry-After` HTTP dates; defaults to `Date.now()`. */
  readonly nowMillis?: number | undefined
}

const withStatus = (status: number | undefined) => (status === undefined ? {} : { status })
const withRetryAfter = (seconds: number | undefined) => (seconds === undefined ? {} : { retryAfterSeconds: seconds })

/**
 * Classifies a parsed `Status` plus the HTTP code it came with (the code may be missing, e.g. in a watch `ERROR`
 * event whose Status lacks one; then the Status' own `code` is used).
 */
export const fromStatus = (
  status: StatusBody,
  httpStatus?: number | undefined,
  retryAfterHeaderSeconds?: number | undefined,
): K8sErrorReason => {
  const code = httpStatus ?? status.code
  const message = status.message ?? status.reason ?? (code === undefined ? "unknown failure" : `HTTP ${code}`)
  const retryAfterSeconds = retryAfterHeaderSeconds ?? status.retryAfterSeconds
  const base = { message, ...withStatus(code) }
  switch (status.reason) {
    case "NotFound":
      return new NotFound(base)
    case "AlreadyExists":
      return new AlreadyExists(base)
    case "Conflict":
      return new Conflict({ ...base, causes: status.causes })
    case "Invalid":
    case "BadRequest":
    case "MethodNotAllowed":
    case "NotAcceptable":
    case "RequestEntityTooLarge":
    case "UnsupportedMediaType":
      return new Invalid({ ...base, causes: status.causes })
    case "Forbidden":
      return new Forbidden(base)
    case "Unauthorized":
      return new Unauthorized(base)
    case "Gone":
    case "Expired":
      return new Gone(base)
    case "TooManyRequests":
      return new TooManyRequests({ ...base, ...withRetryAfter(retryAfterSeconds) })
    case "Timeout":
    case "ServerTimeout":
      return new Timeout({ ...base, ...withRetryAfter(retryAfterSeconds) })
    case "ServiceUnavailable":
    case "InternalError":
      return new Unavailable({ ...base, ...withRetryAfter(retryAfterSeconds) })
    default:
      return fromCode(code, message, status.causes, retryAfterSeconds)
  }
}

/** The HTTP-code fallback, used when there is no `Status` or its reason is unknown. */
export const fromCode = (
  code: number | undefined,
  message: string,
  causes: ReadonlyArray<StatusCause> = [],
  retryAfterSeconds?: number | undefined,
): K8sErrorReason => {
  const base = { message, ...withStatus(code) }
  if (code === undefined) return new Transport(base)
  switch (code) {
    case 401:
      return new Unauthorized(base)
    case 403:
      return new Forbidden(base)
    case 404:
      return new NotFound(base)
    case 408:
    case 504:
      return new Timeout({ ...base, ...withRetryAfter(retryAfterSeconds) })
    case 409:
      return new Conflict({ ...base, causes })
    case 410:
      return new Gone(base)
    case 429:
      return new TooManyRequests({ ...base, ...withRetryAfter(retryAfterSeconds) })
  }
  if (code >= 500) return new Unavailable({ ...base, ...withRetryAfter(retryAfterSeconds) })
  if (code >= 400) return new Invalid({ ...base, causes })
  // 1xx/3xx are not answers the API server gives to these requests: something in between misbehaved.
  return new Transport({ ...base, message: `unexpected HTTP status ${code}: ${message}` })
}

/** Classifies a non-2xx HTTP response. */
export const fromResponse = (response: ResponseFailure): K8sErrorReason => {
  const headers = response.headers ?? {}
  const retryAfter = parseRetryAfter(headerValue(headers, "retry-after"), response.nowMillis ?? Date.now())
  const status = statusFromBody(response.body)
  if (status !== undefined) return fromStatus(status, response.status, retryAfter)
  const text = response.body?.trim()
  const message = text !== undefined && text.length > 0 ? text.slice(0, 1024) : `HTTP ${response.status}`
  return fromCode(response.status, message, [], retryAfter)
}

const timeoutCodes: ReadonlySet<string> = new Set([
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
])

/** System and undici errors carry a string `code` (`ECONNREFUSED`, `UND_ERR_SOCKET`). */
const errorCode = (u: unknown): string | undefined =>
  Predicate.isObject(u) ? asString(Reflect.get(u, "code")) : undefined

const errorMessage = (u: unknown): string =>
  u instanceof Error
    ? u.message
    : Predicate.isObject(u)
      ? (asString(Reflect.get(u, "message")) ?? String(u))
      : String(u)

const errorName = (u: unknown): string | undefined =>
  Predicate.isObject(u) ? asString(Reflect.get(u, "name")) : undefined

/** Follows `cause` links (undici nests the socket error one or two levels deep) to the first one with a code. */
const rootWithCode = (u: unknown): { readonly code: string; readonly message: string } | undefined => {
  let current: unknown = u
  for (let depth = 0; depth < 5 && current !== undefined; depth++) {
    const code = errorCode(current)
    if (code !== undefined) return { code, message: errorMessage(current) }
    // AggregateError (happy-eyeballs connect to several addresses) keeps the per-address errors in `errors`.
    const errors = Predicate.isObject(current) ? Reflect.get(current, "errors") : undefined
    if (Array.isArray(errors) && errors.length > 0) {
      const first = rootWithCode(errors[0])
      if (first !== undefined) return first
    }
    current = Predicate.isObject(current) ? Reflect.get(current, "cause") : undefined
  }
  return undefined
}

/**
 * Classifies a thrown or rejected value. Total: whatever cannot be recognised is a `Transport` failure carrying
 * the original value as its cause, so nothing is lost.
 */
export const fromException = (u: unknown): K8sErrorReason => {
  const name = errorName(u)
  // Before anything reading `code`: a DOMException has a numeric legacy `code` too.
  if (name === "TimeoutError") return new Timeout({ message: errorMessage(u) })
  if (name === "SyntaxError") return new Decode({ message: errorMessage(u), cause: u })
  const root = rootWithCode(u)
  if (root !== undefined) {
    const message = root.message === errorMessage(u) ? root.message : `${errorMessage(u)}: ${root.message}`
    if (timeoutCodes.has(root.code)) return new Timeout({ message })
    return new Transport({ message, code: root.code, cause: u })
  }
  return new Transport({ message: errorMessage(u), cause: u })
}
