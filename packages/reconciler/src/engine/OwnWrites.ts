/**
 * What this engine wrote that its caches may not show yet (kopf's own-write tracking).
 *
 * A watch delivers our own write a few milliseconds after the API server answered it. A reconcile that runs in
 * between (another event of the same Workspace) would otherwise see the old object: it would apply again, or worse,
 * think the database Secret does not exist. So every write's response is kept here until the cache has caught up,
 * and lookups take whichever is newer. The echo of a write (the watch event carrying the very resourceVersion we
 * got back) is recognised and not queued: it tells the engine nothing new.
 *
 * ResourceVersions are ordered only as far as Kubernetes guarantees it: since 1.35 (KEP-5504) they are decimal
 * integers comparable by length then lexically; anything else is treated as "not newer", trusting the cache.
 */
import { type KubeObject, type Live, objectKey } from "@cartographer/k8s"

/** Whether resourceVersion `a` is newer than `b` (false when they cannot be compared). */
export const isNewer = (a: string, b: string): boolean => {
  if (!/^\d+$/u.test(a) || !/^\d+$/u.test(b)) return false
  return a.length !== b.length ? a.length > b.length : a > b
}

interface Entry {
  readonly object: Live<KubeObject>
  readonly owner: string
}

export class OwnWrites {
  /** kind → object key → what we wrote. */
  private readonly written = new Map<string, Map<string, Entry>>()
  /** kind → object key → uid of the object we deleted. */
  private readonly deleted = new Map<string, Map<string, string>>()
  /** owner → kind → keys in `written`: lookups by Workspace stay proportional to its own writes. */
  private readonly byOwner = new Map<string, Map<string, Set<string>>>()

  private link(owner: string, kind: string, key: string): void {
    let kinds = this.byOwner.get(owner)
    if (kinds === undefined) {
      kinds = new Map()
      this.byOwner.set(owner, kinds)
    }
    const keys = kinds.get(kind)
    if (keys === undefined) kinds.set(kind, new Set([key]))
    else keys.add(key)
  }

  /** Removes a `written` entry and its owner link. */
  private drop(kind: string, key: string): void {
    const entry = this.written.get(kind)?.get(key)
    if (entry === undefined) return
    this.written.get(kind)?.delete(key)
    const kinds = this.byOwner.get(entry.owner)
    const keys = kinds?.get(kind)
    keys?.delete(key)
    if (keys?.size === 0) kinds?.delete(kind)
    if (kinds?.size === 0) this.byOwner.delete(entry.owner)
  }

  private of<V>(table: Map<string, Map<string, V>>, kind: string): Map<string, V> {
    const existing = table.get(kind)
    if (existing !== undefined) return existing
    const map = new Map<string, V>()
    table.set(kind, map)
    return map
  }

  /** Remembers the server's answer to a write made for the Workspace `owner`. */
  recordWrite(kind: string, object: Live<KubeObject>, owner: string): void {
    const key = objectKey(object.metadata)
    this.of(this.deleted, kind).delete(key)
    this.drop(kind, key)
    this.of(this.written, kind).set(key, { object, owner })
    this.link(owner, kind, key)
  }

  /** Remembers that we deleted this object (until its DELETED event arrives). */
  recordDelete(kind: string, object: Live<KubeObject>): void {
    const key = objectKey(object.metadata)
    this.drop(kind, key)
    this.of(this.deleted, kind).set(key, object.metadata.uid)
  }

  /**
   * Called for each watch event once the cache holds it. True when the event only echoes our own write (it need
   * not be queued). Forgets what the cache now knows.
   */
  observe(kind: string, type: "ADDED" | "MODIFIED" | "DELETED", object: Live<KubeObject>): boolean {
    const key = objectKey(object.metadata)
    if (type === "DELETED") {
      const uid = this.deleted.get(kind)?.get(key)
      this.deleted.get(kind)?.delete(key)
      const entry = this.written.get(kind)?.get(key)
      if (entry !== undefined && entry.object.metadata.uid === object.metadata.uid) this.drop(kind, key)
      return uid !== undefined && uid === object.metadata.uid
    }
    const entry = this.written.get(kind)?.get(key)
    if (entry === undefined) return false
    const mine = entry.object.metadata.resourceVersion
    const seen = object.metadata.resourceVersion
    if (mine === seen) {
      this.drop(kind, key)
      return true
    }
    if (!isNewer(mine, seen)) this.drop(kind, key)
    return false
  }

  /** The freshest view of one object: our write when the cache has not caught up with it, else the cache's. */
  view<A extends KubeObject>(kind: string, key: string, cached: Live<A> | undefined): Live<A> | undefined {
    const gone = this.deleted.get(kind)?.get(key)
    if (gone !== undefined && cached !== undefined && cached.metadata.uid === gone) return undefined
    const entry = this.written.get(kind)?.get(key)
    if (entry === undefined) return cached
    if (cached === undefined || isNewer(entry.object.metadata.resourceVersion, cached.metadata.resourceVersion)) {
      return entry.object as Live<A>
    }
    this.drop(kind, key)
    return cached
  }

  /** Our writes for `owner` of this kind (to merge with the cache's owner index). */
  writtenFor(kind: string, owner: string): ReadonlyArray<Live<KubeObject>> {
    const out: Array<Live<KubeObject>> = []
    for (const key of this.byOwner.get(owner)?.get(kind) ?? []) {
      const entry = this.written.get(kind)?.get(key)
      if (entry !== undefined) out.push(entry.object)
    }
    return out
  }

  /** Whether we deleted this object and its DELETED event has not arrived yet. */
  isDeleted(kind: string, key: string, uid: string): boolean {
    return this.deleted.get(kind)?.get(key) === uid
  }

  /** Forgets everything about a Workspace that is gone. */
  forgetOwner(owner: string): void {
    for (const [kind, keys] of this.byOwner.get(owner) ?? []) {
      for (const key of [...keys]) this.drop(kind, key)
    }
    this.byOwner.delete(owner)
  }

  /** Entries held (for tests and memory checks). */
  size(): number {
    let n = 0
    for (const map of this.written.values()) n += map.size
    for (const map of this.deleted.values()) n += map.size
    return n
  }
}
