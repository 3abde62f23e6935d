/**
 * Secrets a Workspace reads but does not own (`plan/references.ts`: an external database's, a basic auth string, an
 * external Redis's password, the auth string in a pool's job namespace), watched so that
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
import { contextOf } from "../plan/context.js"
import { labelKeys, managedBy } from "../plan/labels.js"
import type { SecretObservation } from "../plan/Observed.js"
import { checkWorkspace } from "../plan/planner.js"
import { referencedSecrets } from "../plan/references.js"

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
 * are in the children cache; only their presence is read). `object` undefined: it does not exist.
 */
export const observeSecret = (
  ref: { readonly namespace: string; readonly name: string },
  object: KubeObject | undefined,
): SecretObservation => {
  if (object === undefined) return { namespace: ref.namespace, name: ref.name }
  const keys = Array.isArray(object.keys)
    ? object.keys.filter((k): k is string => typeof k === "string")
    : filledKeys(object)
  const changedAt = typeof object.changedAt === "string" ? object.changedAt : undefined
  return { namespace: ref.namespace, name: ref.name, keys, ...(changedAt === undefined ? {} : { changedAt }) }
}

/** The Secrets (`namespace/name`) a Workspace as stored reads; none while its spec does not decode. */
export const secretsReadBy = (workspace: KubeObject): ReadonlyArray<string> => {
  const checked = checkWorkspace(workspace)
  if (!checked.ok) return []
  return [...new Set(referencedSecrets(contextOf(checked.value)).map((r) => `${r.namespace}/${r.name}`))]
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
    if (workspace === undefined) return
    const secrets = secretsReadBy(workspace)
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
