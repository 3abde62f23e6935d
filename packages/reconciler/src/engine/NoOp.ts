/**
 * "Do the desired fields already hold?" — the check that makes a converged Workspace cost zero writes per resync
 * (docs/adr/0005-engine-no-op-detection.md). An apply is skipped only when both hold:
 *
 * 1. **The intent is unchanged.** Every applied object carries `mlops.aigency.com/applied-intent`, a hash of
 *    exactly what was applied. If the plan now wants something else — including *fewer* fields, a removed env var
 *    or label, which a comparison of values alone cannot see — the hash differs and the apply goes through, so
 *    server-side apply releases what we no longer set.
 * 2. **Every field we set still has our value** on the live object (drift: a deleted object, a `kubectl edit` of an
 *    owned field). The comparison is a subset test, because the API server adds defaults (`terminationMessagePath`,
 *    `strategy.rollingUpdate`, …) and other managers add fields we do not own (a user's label, an injected env var):
 *    those are left alone. Quantities compare by value (`1024Mi` = `1Gi`, `0.5` = `500m`, as the server may
 *    normalise them), and an empty list or map it omits counts as present. Lists Kubernetes merges by key
 *    (containers, env, volumes, ports, volume mounts, owner references) are matched by key, so an entry someone else
 *    added does not count as drift; other lists are atomic and compared whole.
 */
import { createHash } from "node:crypto"
import { quantityValue } from "@cartographer/schema"

/** Annotation on every applied object: the hash of the intent that was applied. */
export const intentAnnotation = "mlops.aigency.com/applied-intent"

/** JSON with object keys sorted: equality of values written in different key orders (the live status). */
const canonical = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  const record = value as Record<string, unknown>
  return `{${Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`)
    .join(",")}}`
}

interface Annotated {
  readonly kind?: string
  readonly metadata: { readonly annotations?: Readonly<Record<string, string>> }
}

/**
 * The hash of what an object asks for. A Secret's values are left out (only its keys count): secret material never
 * reaches an annotation, even hashed, and a Secret's values are re-applied byte for byte, never changed by a plan.
 */
export const intentHash = (object: Annotated): string => {
  const annotations = { ...object.metadata.annotations }
  delete annotations[intentAnnotation]
  const data = object.kind === "Secret" ? (object as { readonly data?: Record<string, unknown> }).data : undefined
  const hashed = {
    ...object,
    metadata: { ...object.metadata, annotations },
    ...(data === undefined ? {} : { data: Object.keys(data).sort() }),
  }
  // The planner builds objects with a fixed key order (and sorts the one user map it copies, `nodeSelector`), so
  // JSON.stringify is canonical for them and several times faster than sorting keys.
  return createHash("sha256").update(JSON.stringify(hashed)).digest("hex").slice(0, 16)
}

/** The object with its intent annotation set: what the engine sends. */
export const withIntent = <A extends Annotated>(object: A): A => ({
  ...object,
  metadata: {
    ...object.metadata,
    annotations: { ...object.metadata.annotations, [intentAnnotation]: intentHash(object) },
  },
})

/** Lists Kubernetes merges by key (`x-kubernetes-list-type: map` in the built-in types), by field name. */
const listKeys = (field: string, item: unknown): ReadonlyArray<string> | undefined => {
  switch (field) {
    case "containers":
    case "initContainers":
    case "ephemeralContainers":
    case "env":
    case "volumes":
    case "imagePullSecrets":
      return ["name"]
    case "volumeMounts":
      return ["mountPath"]
    case "ownerReferences":
      return ["uid"]
    case "ports":
      // Container ports are keyed by containerPort+protocol and Service ports by port+protocol; a NetworkPolicy's
      // ports (no targetPort) are an atomic list.
      if (!isRecord(item)) return undefined
      if ("containerPort" in item) return ["containerPort", "protocol"]
      return "targetPort" in item ? ["port", "protocol"] : undefined
    default:
      return undefined
  }
}

/** Fields whose values are resource quantities. */
const isQuantityField = (field: string, parent: string): boolean =>
  parent === "requests" || parent === "limits" || field === "sizeLimit" || field === "storage"

const sameQuantity = (desired: unknown, live: unknown): boolean => {
  if (
    (typeof desired !== "string" && typeof desired !== "number") ||
    (typeof live !== "string" && typeof live !== "number")
  )
    return false
  const a = quantityValue(String(desired))
  const b = quantityValue(String(live))
  if (a === undefined || b === undefined) return false
  return a === b || Math.abs(a - b) <= Math.abs(a) * 1e-12
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const holdsAt = (desired: unknown, live: unknown, field: string, parent: string): boolean => {
  if (desired === undefined) return true
  if (Array.isArray(desired)) {
    // The API server omits empty lists.
    if (live === undefined || live === null) return desired.length === 0
    if (!Array.isArray(live)) return false
    const keys = desired.length > 0 ? listKeys(field, desired[0]) : undefined
    if (keys === undefined) {
      return desired.length === live.length && desired.every((item, i) => holdsAt(item, live[i], field, parent))
    }
    return desired.every((item) => {
      if (!isRecord(item)) return false
      const match = live.find(
        (candidate) =>
          isRecord(candidate) && keys.every((key) => item[key] === undefined || candidate[key] === item[key]),
      )
      return match !== undefined && holdsAt(item, match, field, parent)
    })
  }
  if (isRecord(desired)) {
    // The API server omits empty maps (a selector's `matchLabels: {}` a team wrote).
    if (live === undefined || live === null) return Object.keys(desired).length === 0
    if (!isRecord(live)) return false
    for (const key of Object.keys(desired)) {
      if (!holdsAt(desired[key], live[key], key, field)) return false
    }
    return true
  }
  if (desired === live) return true
  // The API server omits empty strings from `omitempty` fields (an env var's `value: ""`): absent is what it stores.
  if (desired === "" && live === undefined) return true
  return isQuantityField(field, parent) && sameQuantity(desired, live)
}

/**
 * Whether every field of `desired` holds on `live` (see the module doc). `desired` should carry the intent
 * annotation (`withIntent`), so that a changed intent never holds.
 */
export const holds = (desired: unknown, live: unknown): boolean => holdsAt(desired, live, "", "")

/** Deep equality of JSON values regardless of key order (for the Workspace status, which we own entirely). */
export const sameJson = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b)
