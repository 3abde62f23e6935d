/**
 * An in-memory cache of one kind, kept equal to the server by the resilient watch stream (client-go's informer
 * indexer). Keys are `namespace/name` (`name` for cluster-scoped kinds). `synced` completes after the first list
 * has been applied; consumers subscribe to `events` to learn what changed, each event delivered after the cache
 * reflects it.
 */
import { Deferred, Effect, Option, PubSub, type Scope, Stream } from "effect"
import type { Access, ResourceKind } from "./Kinds.js"
import type { KubeClient } from "./KubeClient.js"
import { type KubeObject, type Live, type ObjectRef, objectKey } from "./KubeObject.js"
import { type WatchEvent, type WatchOptions, watch } from "./Watch.js"

export interface ListFilter {
  /** Only objects in this namespace. */
  readonly namespace?: string | undefined
  /** Only objects carrying all these labels with these values. */
  readonly labels?: Readonly<Record<string, string>> | undefined
}

export interface Store<A extends KubeObject> {
  readonly kind: ResourceKind<A, Access>
  /** The cached object, if any. */
  readonly get: (ref: ObjectRef) => Effect.Effect<Option.Option<Live<A>>>
  /** Cached objects, optionally filtered, in key order. */
  readonly list: (filter?: ListFilter) => Effect.Effect<ReadonlyArray<Live<A>>>
  /** Cached keys, in order. */
  readonly keys: Effect.Effect<ReadonlyArray<string>>
  /** Completes once the first list has been applied (never fails; bound it with a timeout). */
  readonly synced: Effect.Effect<void>
  readonly isSynced: Effect.Effect<boolean>
  /**
   * Events after they were applied to the cache, from the moment the stream is run. Subscribe before awaiting
   * `synced` to see every object; `SYNCED` events mark the end of each (re)list.
   */
  readonly events: Stream.Stream<WatchEvent<A>>
}

const matches = (object: Live<KubeObject>, filter: ListFilter): boolean => {
  if (filter.namespace !== undefined && object.metadata.namespace !== filter.namespace) return false
  if (filter.labels !== undefined) {
    const labels = object.metadata.labels ?? {}
    for (const [key, value] of Object.entries(filter.labels)) {
      if (labels[key] !== value) return false
    }
  }
  return true
}

/**
 * Starts a cache of `kind` (the watch runs in a fiber of the current scope and stops with it).
 */
export const make = <A extends KubeObject, X extends Access>(
  kind: ResourceKind<A, X>,
  options: WatchOptions = {},
): Effect.Effect<Store<A>, never, KubeClient | Scope.Scope> =>
  Effect.gen(function* () {
    const cache = new Map<string, Live<A>>()
    const synced = yield* Deferred.make<void>()
    const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<WatchEvent<A>>(), PubSub.shutdown)

    const apply = (event: WatchEvent<A>) =>
      Effect.gen(function* () {
        switch (event.type) {
          case "ADDED":
          case "MODIFIED":
            cache.set(objectKey(event.object.metadata), event.object)
            break
          case "DELETED":
            cache.delete(objectKey(event.object.metadata))
            break
          case "SYNCED":
            yield* Deferred.succeed(synced, undefined)
            break
        }
        yield* PubSub.publish(pubsub, event)
      })

    yield* watch(kind, options).pipe(Stream.runForEach(apply), Effect.forkScoped)

    const sortedKeys = () => [...cache.keys()].sort()

    return {
      kind: kind as ResourceKind<A, Access>,
      get: (ref) => Effect.sync(() => Option.fromNullishOr(cache.get(objectKey(ref)))),
      list: (filter = {}) =>
        Effect.sync(() =>
          sortedKeys()
            .map((key) => cache.get(key))
            .filter((object): object is Live<A> => object !== undefined && matches(object, filter)),
        ),
      keys: Effect.sync(sortedKeys),
      synced: Deferred.await(synced),
      isSynced: Deferred.isDone(synced),
      events: Stream.fromPubSub(pubsub),
    } satisfies Store<A>
  })
