/**
 * The engine's informer cache of one kind (client-go's shared informer): `Watch.watch` streams (one cluster-wide, or
 * one per watched namespace) applied to a map, with what a controller needs beyond the stream itself:
 *
 * - **An owner index** (client-go's indexers): the objects of each Workspace, so a reconcile looks up its children
 *   in O(its children) instead of scanning every object of the kind — 1,000 Workspaces stay linear.
 * - **A transform** before caching (client-go's `SetTransform`, applied by the watch stream so that its relist
 *   memory and the cache share one copy): `managedFields` and other bulk the engine never reads are dropped.
 * - **Supervision.** A stream that fails or ends (only a fault can make `Watch.watch` do so) restarts after a
 *   jittered backoff; when its relist completes, objects it no longer lists are removed and reported as deleted,
 *   so a restart never leaves ghosts. One stream's trouble never stops another's.
 * - **A change callback** run after the cache reflects the change, with `initial` set for the first list (the
 *   queue gives those low priority).
 */

import type { Access, KubeClient, KubeObject, Live, ObjectRef, ResourceKind } from "@cartographer/k8s"
import { objectKey, Watch } from "@cartographer/k8s"
import { Cause, Deferred, Effect, type Schedule, type Scope, Stream } from "effect"
import { Faults } from "./Faults.js"

export type Change<A extends KubeObject> =
  | {
      readonly type: "ADDED" | "MODIFIED" | "DELETED"
      readonly object: Live<A>
      /** Owners (Workspace keys) of the object before this change, for DELETED and re-parented objects. */
      readonly previousOwners: ReadonlyArray<string>
      /** Part of a stream's first list (the initial sync), not a change seen live. */
      readonly initial: boolean
    }
  | { readonly type: "SYNCED" }

export interface CacheOptions<A extends KubeObject> {
  /** One watch per namespace; default: one cluster-wide watch. */
  readonly namespaces?: ReadonlyArray<string> | undefined
  readonly labelSelector?: string | undefined
  /**
   * Applied to every object before it is cached (by the watch stream itself, so that the stream's relist memory
   * and the cache share one copy). Default: none.
   */
  readonly transform?: (<B extends KubeObject>(object: Live<B>) => Live<B>) | undefined
  /** The Workspace keys (`namespace/name`) an object belongs to, for the owner index. */
  readonly ownersOf: (object: Live<A>) => ReadonlyArray<string>
  /** Called after each change is in the cache. Must not fail. */
  readonly onChange: (change: Change<A>) => Effect.Effect<void>
  /** Backoff between restarts of a stopped stream. Default: the watch reconnect backoff (0.8 s → 30 s, jittered). */
  readonly restartBackoff?: Schedule.Schedule<unknown, unknown> | undefined
  /** Passed to `Watch.watch`. */
  readonly watch?: Omit<Watch.WatchOptions, "namespace" | "labelSelector" | "transform"> | undefined
}

export interface Cache<A extends KubeObject> {
  readonly kind: ResourceKind<A, Access>
  /** The cached object, if any. */
  readonly get: (ref: ObjectRef) => Live<A> | undefined
  /** The cached objects belonging to a Workspace (any namespace). */
  readonly ownedBy: (workspaceKey: string) => ReadonlyArray<Live<A>>
  /** Every cached key (`namespace/name`). */
  readonly keys: () => ReadonlyArray<string>
  readonly size: () => number
  /** Completes once every stream has applied its first list. */
  readonly synced: Effect.Effect<void>
  readonly isSynced: Effect.Effect<boolean>
}

/** Drops what the engine never reads before caching (most of all `managedFields`), to keep the caches small. */
export const slim = <A extends KubeObject>(object: Live<A>): Live<A> => {
  const { managedFields: _managedFields, ...metadata } = object.metadata
  const annotations = metadata.annotations
  if (annotations !== undefined && "kubectl.kubernetes.io/last-applied-configuration" in annotations) {
    const { "kubectl.kubernetes.io/last-applied-configuration": _lastApplied, ...rest } = annotations
    return { ...object, metadata: { ...metadata, annotations: rest } }
  }
  return { ...object, metadata }
}

/** Starts the cache's streams in the current scope. */
export const make = <A extends KubeObject, X extends Access>(
  kind: ResourceKind<A, X>,
  options: CacheOptions<A>,
): Effect.Effect<Cache<A>, never, KubeClient | Scope.Scope> =>
  Effect.gen(function* () {
    const faults = yield* Faults
    const objects = new Map<string, Live<A>>()
    const owners = new Map<string, ReadonlyArray<string>>()
    /** Workspace key → keys of its objects. */
    const index = new Map<string, Set<string>>()
    const namespaces: ReadonlyArray<string | undefined> =
      options.namespaces === undefined || options.namespaces.length === 0 ? [undefined] : options.namespaces
    const syncedSources = new Set<number>()
    const synced = yield* Deferred.make<void>()

    const unindex = (key: string) => {
      for (const owner of owners.get(key) ?? []) {
        const set = index.get(owner)
        set?.delete(key)
        if (set?.size === 0) index.delete(owner)
      }
      owners.delete(key)
    }

    const put = (key: string, object: Live<A>) => {
      unindex(key)
      objects.set(key, object)
      const list = options.ownersOf(object)
      if (list.length > 0) owners.set(key, list)
      for (const owner of list) {
        const set = index.get(owner)
        if (set === undefined) index.set(owner, new Set([key]))
        else set.add(key)
      }
    }

    const remove = (key: string) => {
      unindex(key)
      objects.delete(key)
    }

    /** One source (a namespace, or the whole cluster), restarted whenever its stream stops. */
    const runSource = (source: number, namespace: string | undefined) =>
      Effect.gen(function* () {
        /** This source's keys: what a restart's relist must account for. */
        const mine = new Set<string>()
        let started = 0
        const runOnce = Effect.gen(function* () {
          started++
          const restarted = started > 1
          let initial = !syncedSources.has(source)
          /** Keys listed since this (re)start; on the first SYNCED, the rest of `mine` is gone. */
          let listed: Set<string> | undefined = restarted ? new Set() : undefined

          const handle = (event: Watch.WatchEvent<A>): Effect.Effect<void> =>
            Effect.gen(function* () {
              const notify = yield* faults.beforeEvent({
                kind: kind.kind,
                type: event.type,
                object: event.type === "SYNCED" ? undefined : objectKey(event.object.metadata),
              })
              const onChange = notify ? options.onChange : () => Effect.void
              if (event.type === "SYNCED") {
                if (listed !== undefined) {
                  const gone = [...mine].filter((key) => !listed?.has(key))
                  listed = undefined
                  for (const key of gone) {
                    const previous = objects.get(key)
                    const previousOwners = owners.get(key) ?? []
                    mine.delete(key)
                    remove(key)
                    if (previous !== undefined) {
                      yield* onChange({ type: "DELETED", object: previous, previousOwners, initial: false })
                    }
                  }
                }
                initial = false
                if (!syncedSources.has(source)) {
                  syncedSources.add(source)
                  if (syncedSources.size === namespaces.length) yield* Deferred.succeed(synced, undefined)
                }
                return yield* onChange({ type: "SYNCED" })
              }
              const key = objectKey(event.object.metadata)
              const previousOwners = owners.get(key) ?? []
              if (event.type === "DELETED") {
                const previous = objects.get(key) ?? event.object
                mine.delete(key)
                remove(key)
                return yield* onChange({ type: "DELETED", object: previous, previousOwners, initial })
              }
              const object = event.object
              const existed = objects.has(key)
              // After a restart the relist replays everything as ADDED: an object we already hold unchanged is
              // not news.
              const unchanged =
                listed !== undefined && objects.get(key)?.metadata.resourceVersion === object.metadata.resourceVersion
              listed?.add(key)
              mine.add(key)
              put(key, object)
              if (unchanged) return
              return yield* onChange({
                type: listed === undefined ? event.type : existed ? "MODIFIED" : "ADDED",
                object,
                previousOwners,
                initial,
              })
            })

          yield* Watch.watch(kind, {
            ...options.watch,
            namespace,
            labelSelector: options.labelSelector,
            transform: options.transform,
          }).pipe(Stream.runForEach(handle))
        })

        const where = { kind: kind.kind, namespace: namespace ?? "*" }
        // Never gives up: a stream that stops for any reason but interruption is restarted after the backoff.
        yield* runOnce.pipe(
          Effect.andThen(Effect.logWarning("watch stream ended; restarting after backoff", where)),
          Effect.catchCause((cause) =>
            Cause.hasInterruptsOnly(cause)
              ? Effect.failCause(cause)
              : Effect.logWarning("watch stream failed; restarting after backoff", {
                  ...where,
                  cause: Cause.pretty(cause),
                }),
          ),
          Effect.repeat(options.restartBackoff ?? Watch.reconnectSchedule()),
        )
      })

    for (const [source, namespace] of namespaces.entries()) {
      yield* Effect.forkScoped(runSource(source, namespace))
    }

    return {
      kind: kind as ResourceKind<A, Access>,
      get: (ref) => objects.get(objectKey(ref)),
      ownedBy: (workspaceKey) => {
        const keys = index.get(workspaceKey)
        if (keys === undefined) return []
        const out: Array<Live<A>> = []
        for (const key of keys) {
          const object = objects.get(key)
          if (object !== undefined) out.push(object)
        }
        return out
      },
      keys: () => [...objects.keys()],
      size: () => objects.size,
      synced: Deferred.await(synced),
      isSynced: Deferred.isDone(synced),
    } satisfies Cache<A>
  })
