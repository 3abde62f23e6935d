/**
 * Secrets a Workspace reads but does not own (today `spec.workflows.database.external.secretRef`), watched so that
 * creating or fixing one reconciles the Workspaces that read it at once: controller-runtime's `Watches(&Secret{},
 * EnqueueRequestsFromMapFunc(...))` over a field index of the referencing objects, rather than a periodic poll.
 *
 * - **What is cached is not the Secret.** Before an object is stored (by the watch stream itself, so no copy of the
 *   values outlives one event) it is reduced to its facts: the names of its keys that hold a value, and when it last
 *   changed (the latest time in its `managedFields`, else its creation). Values never reach the cache, the logs or
 *   the status.
 * - **Only Secrets that are not ours** (`app.kubernetes.io/managed-by!=cartographer`): the children caches hold ours,
 *   with their values, and a Workspace that reads one of them (another Workspace's credentials) finds it there.
 * - **The index** maps each Secret (`namespace/name`) to the Workspaces that read it, from the Workspace cache's own
 *   changes; a change of a Secret queues exactly those.
 */
import type { KubeObject, Live } from "@cartographer/k8s"
import { labelKeys, managedBy } from "../plan/labels.js"
import type { SecretObservation } from "../plan/Observed.js"

/** The label selector of the watch: every Secret but the engine's own children. */
export const unmanagedSelector = `${labelKeys.managedBy}!=${managedBy}`

/** The facts kept of a Secret in place of its body. */
interface SecretFacts {
  /** Keys holding a non-empty value, sorted. */
  readonly keys: ReadonlyArray<string>
  /** RFC 3339, when known. */
  readonly changedAt?: string
}

type Json = Record<string, unknown>
const record = (value: unknown): Json | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined

const filledKeys = (object: KubeObject): ReadonlyArray<string> => {
  const keys = new Set<string>()
  for (const field of ["data", "stringData"]) {
    for (const [key, value] of Object.entries(record(object[field]) ?? {})) {
      if (typeof value === "string" && value !== "") keys.add(key)
    }
  }
  return [...keys].sort()
}

/** The latest write the API server recorded (RFC 3339 strings of one format compare as text), else the creation. */
const changedAtOf = (object: KubeObject): string | undefined => {
  let latest: string | undefined
  for (const entry of object.metadata?.managedFields ?? []) {
    const time = record(entry)?.time
    if (typeof time === "string" && (latest === undefined || time > latest)) latest = time
  }
  return latest ?? object.metadata?.creationTimestamp
}

/**
 * The watch's transform: a Secret reduced to its envelope and its facts (`keys`, `changedAt`), values dropped. The
 * result is what the cache holds, typed as the stream's kind.
 */
export const toSecretFacts = <B extends KubeObject>(object: Live<B>): Live<B> => {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = object.metadata
  const changedAt = changedAtOf(object)
  const facts: SecretFacts = { keys: filledKeys(object), ...(changedAt === undefined ? {} : { changedAt }) }
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: {
      name,
      uid,
      resourceVersion,
      ...(namespace === undefined ? {} : { namespace }),
      ...(creationTimestamp === undefined ? {} : { creationTimestamp }),
    },
    ...facts,
  } as unknown as Live<B>
}

/**
 * What the planner is told about a Secret: from the facts the watch kept, or from one of our own Secrets (its values
 * are in the children cache; only their presence is read). `undefined`: it does not exist.
 */
export const observeSecret = (object: KubeObject | undefined): SecretObservation => {
  if (object === undefined) return { found: false }
  const keys = Array.isArray(object.keys)
    ? object.keys.filter((k): k is string => typeof k === "string")
    : filledKeys(object)
  const changedAt = typeof object.changedAt === "string" ? object.changedAt : undefined
  return changedAt === undefined ? { found: true, keys } : { found: true, keys, changedAt }
}

/** The names of the Secrets a Workspace (as stored, not yet decoded) reads from its own namespace. */
export const secretsReadBy = (workspace: KubeObject): ReadonlyArray<string> => {
  const workflows = record(record(workspace.spec)?.workflows)
  const name = record(record(record(workflows?.database)?.external)?.secretRef)?.name
  return typeof name === "string" && name !== "" ? [name] : []
}

/** Which Workspaces read which Secrets, kept from the Workspace cache's changes. */
export class SecretReaders {
  /** Secret key → Workspace keys. */
  private readonly readers = new Map<string, Set<string>>()
  /** Workspace key → Secret keys it reads. */
  private readonly reads = new Map<string, ReadonlyArray<string>>()

  /** Records what Workspace `key` reads now (`undefined`: it was deleted). */
  track(key: string, workspace: KubeObject | undefined): void {
    for (const secret of this.reads.get(key) ?? []) {
      const set = this.readers.get(secret)
      set?.delete(key)
      if (set?.size === 0) this.readers.delete(secret)
    }
    this.reads.delete(key)
    const namespace = workspace?.metadata?.namespace
    if (workspace === undefined || namespace === undefined) return
    const secrets = secretsReadBy(workspace).map((name) => `${namespace}/${name}`)
    if (secrets.length === 0) return
    this.reads.set(key, secrets)
    for (const secret of secrets) {
      const set = this.readers.get(secret)
      if (set === undefined) this.readers.set(secret, new Set([key]))
      else set.add(key)
    }
  }

  /** The Workspaces that read Secret `secretKey` (`namespace/name`). */
  readersOf(secretKey: string): ReadonlyArray<string> {
    return [...(this.readers.get(secretKey) ?? [])]
  }
}
