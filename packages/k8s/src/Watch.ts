/**
 * The list-then-watch stream (client-go's Reflector, as an Effect `Stream`): a paginated list, then a watch from
 * the list's resourceVersion with bookmarks and a random 5–10 minute server timeout, resumed from the last seen
 * resourceVersion after every disconnect. It never fails and never ends on its own:
 *
 * - a clean server close resumes at once; a failure (or a watch that closes within a second with nothing in it)
 *   waits out the reconnect backoff (0.8 s → 30 s, jittered, reset after 2 min of stability, `Retry-After`
 *   honoured);
 * - a silent connection is abandoned after the inactivity watchdog (70 s) and resumed at once, like a clean close:
 *   the API server does not send every quiet watch a bookmark within that time, so the watchdog fires on healthy
 *   watches of kinds nobody changes, and a backoff there would leave the kind unwatched for a second or two, when
 *   a change (a deletion to repair) waits for the next connection. A dead server fails that connection, which then
 *   backs off;
 * - 410 Gone relists and emits the difference with what the stream had emitted — `ADDED`/`MODIFIED` for new or
 *   changed objects, a synthesized `DELETED` (with the last known object) for those that vanished meanwhile — so a
 *   consumer that applies events in order always ends equal to the server, with no gap.
 *
 * A kind the API server may not serve (a CRD installed separately, such as the Gateway API's) can be watched with
 * `notServedAsEmpty`: while its list answers 404, the stream reports it as listed and empty (`SYNCED` after a
 * synthesized `DELETED` for anything it had), and lists again after the backoff, so that a consumer waiting for its
 * first sync is not held by a kind that may never be installed.
 *
 * ResourceVersions are opaque: they are only compared for equality.
 */
import { Clock, Duration, Effect, Metric, Pull, Queue, Random, Schedule, Stream } from "effect"
import { type BackoffOptions, reconnectSchedule } from "./internal/backoff.js"
import { K8sError, Unavailable } from "./K8sError.js"
import type { Access, ResourceKind } from "./Kinds.js"
import { KubeClient, type RawWatchEvent } from "./KubeClient.js"
import { type KubeObject, type Live, objectKey } from "./KubeObject.js"

export type { BackoffOptions } from "./internal/backoff.js"
export { reconnectSchedule } from "./internal/backoff.js"

/**
 * An event of the resilient stream. `SYNCED` follows the events of every (re)list: from then on the consumer's
 * view equals the server's as of `resourceVersion` (the engine's "cache synced" signal, and a marker for
 * low-priority initial events).
 */
export type WatchEvent<A extends KubeObject = KubeObject> =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: Live<A> }
  | { readonly type: "SYNCED"; readonly resourceVersion: string }

export interface WatchOptions {
  /** Default: all namespaces. */
  readonly namespace?: string | undefined
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  /** List page size. Default 500. */
  readonly pageSize?: number | undefined
  /** Server-side watch timeout is drawn uniformly from [min, max] seconds. Default 300 (client-go). */
  readonly minTimeoutSeconds?: number | undefined
  /** Default 600 (client-go). */
  readonly maxTimeoutSeconds?: number | undefined
  /** Abandon a connection after this much silence. Default 70 seconds (kopf). */
  readonly inactivityTimeout?: Duration.Input | undefined
  /** Reconnect backoff. Default 0.8 s → 30 s, ×2, jitter 1, reset after 2 min. */
  readonly backoff?: BackoffOptions | undefined
  /** Events buffered ahead of a slow consumer before the watch waits for it. Default 1024. */
  readonly bufferSize?: number | undefined
  /**
   * Applied to every listed or watched object before the stream remembers or emits it (client-go's
   * `SetTransform`), e.g. to drop `managedFields`: the stream keeps the last object of every key for its relist
   * diff, so a consumer that caches the transformed objects shares them instead of holding a second, full copy.
   * Must keep `metadata.name`, `namespace`, `uid` and `resourceVersion`. Default: none.
   */
  readonly transform?: (<B extends KubeObject>(object: Live<B>) => Live<B>) | undefined
  /**
   * A 404 on the list means the API server does not serve the kind (its CRD is not installed): report it as empty
   * and synced, and try again after the backoff. Default false (a 404 is a failure like any other).
   */
  readonly notServedAsEmpty?: boolean | undefined
}

/**
 * Counters of every watch stream, with a `kind` attribute (`Metric.withAttributes(metrics.expired, { kind })`).
 */
const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

export const metrics = {
  /** Lists made: the initial one and every relist. */
  lists: counter("cartographer_k8s_watch_lists_total", "Lists made by watch streams (initial and relists)"),
  /** Resumes refused with 410 Gone (each followed by a relist). */
  expired: counter("cartographer_k8s_watch_expired_total", "Watch resumes refused with 410 Gone"),
  /** Failed lists or watch connections, each followed by the reconnect backoff. */
  failures: counter("cartographer_k8s_watch_failures_total", "Failed lists or watch connections (followed by backoff)"),
  /** Connections abandoned by the inactivity watchdog, each resumed at once. */
  silent: counter("cartographer_k8s_watch_silent_total", "Watch connections abandoned after the inactivity timeout"),
  /** DELETED events synthesized by a relist for objects that vanished while the stream was not watching. */
  synthesizedDeletes: counter(
    "cartographer_k8s_watch_synthesized_deletes_total",
    "DELETED events synthesized by relists",
  ),
}

/** A watch that closes this fast with no event counts as a failure, so a misbehaving server cannot spin us. */
const veryShortWatchMillis = 1000

/**
 * The list-then-watch stream of `kind`. Requires `KubeClient`; never fails; runs until interrupted.
 */
export const watch = <A extends KubeObject, X extends Access>(
  kind: ResourceKind<A, X>,
  options: WatchOptions = {},
): Stream.Stream<WatchEvent<A>, never, KubeClient> =>
  Stream.callback<WatchEvent<A>, never, KubeClient>(
    (queue) =>
      Effect.gen(function* () {
        const client = yield* KubeClient
        const where = { kind: kind.kind, namespace: options.namespace ?? "*", selector: options.labelSelector ?? "" }
        const backoff = yield* Schedule.toStepWithMetadata(reconnectSchedule(options.backoff))
        const minTimeout = options.minTimeoutSeconds ?? 300
        const maxTimeout = Math.max(minTimeout, options.maxTimeoutSeconds ?? 600)

        /** What the consumer has been told: key → last object emitted. */
        const known = new Map<string, Live<A>>()
        const transform = (object: Live<A>): Live<A> =>
          options.transform === undefined ? object : options.transform(object)
        /** Resume point: the list's RV, then the RV of every event and bookmark since. */
        let resourceVersion: string | undefined
        let mustList = true

        const emit = (event: WatchEvent<A>) => Queue.offer(queue, event)
        const count = (metric: Metric.Metric<number, Metric.CounterState<number>>) =>
          Metric.update(Metric.withAttributes(metric, { kind: kind.kind }), 1)

        const relist = Effect.gen(function* () {
          yield* count(metrics.lists)
          const result = yield* client.list(kind, {
            namespace: options.namespace,
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector,
            pageSize: options.pageSize,
          })
          const seen = new Set<string>()
          let changes = 0
          for (const item of result.items) {
            const object = transform(item)
            const key = objectKey(object.metadata)
            seen.add(key)
            const previous = known.get(key)
            known.set(key, object)
            if (previous === undefined) {
              changes++
              yield* emit({ type: "ADDED", object })
            } else if (previous.metadata.uid !== object.metadata.uid) {
              // Deleted and re-created under the same name while we were not looking.
              changes++
              yield* count(metrics.synthesizedDeletes)
              yield* emit({ type: "DELETED", object: previous })
              yield* emit({ type: "ADDED", object })
            } else if (previous.metadata.resourceVersion !== object.metadata.resourceVersion) {
              changes++
              yield* emit({ type: "MODIFIED", object })
            }
          }
          for (const [key, previous] of known) {
            if (!seen.has(key)) {
              changes++
              known.delete(key)
              yield* count(metrics.synthesizedDeletes)
              yield* emit({ type: "DELETED", object: previous })
            }
          }
          resourceVersion = result.resourceVersion
          mustList = false
          toldNotServed = false
          yield* Effect.logDebug("watch listed", { ...where, objects: result.items.length, changes, resourceVersion })
          yield* emit({ type: "SYNCED", resourceVersion: result.resourceVersion })
        })

        const handle = (event: RawWatchEvent<A>) => {
          if (event.type === "BOOKMARK") {
            resourceVersion = event.resourceVersion
            return Effect.void
          }
          const object = transform(event.object)
          const key = objectKey(object.metadata)
          if (event.type === "DELETED") known.delete(key)
          else known.set(key, object)
          resourceVersion = object.metadata.resourceVersion
          return emit({ type: event.type, object })
        }

        /** One watch connection from `resourceVersion`; fails on a very short empty watch. */
        const watchOnce = Effect.gen(function* () {
          const timeoutSeconds = yield* Random.nextIntBetween(minTimeout, maxTimeout)
          const started = yield* Clock.currentTimeMillis
          let events = 0
          yield* client
            .watchOnce(kind, {
              namespace: options.namespace,
              labelSelector: options.labelSelector,
              fieldSelector: options.fieldSelector,
              resourceVersion,
              timeoutSeconds,
              allowWatchBookmarks: true,
              inactivityTimeout: options.inactivityTimeout,
            })
            .pipe(
              Stream.runForEach((event) => {
                events++
                return handle(event)
              }),
              // Silence on an open connection: resumed at once from the last resourceVersion (module doc).
              Effect.catchReason("K8sError", "Timeout", (reason, error) =>
                reason.silent === true
                  ? count(metrics.silent).pipe(
                      Effect.andThen(Effect.logDebug("watch silent, resuming", { ...where, resourceVersion })),
                    )
                  : Effect.fail(error),
              ),
            )
          const lasted = (yield* Clock.currentTimeMillis) - started
          if (events === 0 && lasted < veryShortWatchMillis) {
            return yield* new K8sError({
              reason: new Unavailable({ message: `watch closed after ${lasted} ms with no event` }),
              operation: `watch ${kind.apiVersion} ${kind.kind}`,
            })
          }
        })

        /** Whether the consumer was told the kind is not served since the last list that succeeded. */
        let toldNotServed = false
        /** The kind is not served: whatever the consumer was told exists is gone, and the (empty) list is complete. */
        const notServed = Effect.gen(function* () {
          if (toldNotServed) return
          toldNotServed = true
          for (const [key, previous] of known) {
            known.delete(key)
            yield* count(metrics.synthesizedDeletes)
            yield* emit({ type: "DELETED", object: previous })
          }
          yield* emit({ type: "SYNCED", resourceVersion: "" })
        })

        const step = Effect.suspend(() => (mustList ? relist : watchOnce)).pipe(
          Effect.catch((error: K8sError) => {
            if (options.notServedAsEmpty === true && error.reason._tag === "NotFound") {
              // Not a fault: the kind is not installed (yet). Look again after the backoff, quietly.
              mustList = true
              return notServed.pipe(
                Effect.andThen(Effect.logDebug("kind not served, listing again after backoff", where)),
                Effect.andThen(backoff(error)),
                Effect.asVoid,
                Pull.catchDone(() => Effect.void),
              )
            }
            if (error.reason._tag === "Gone" && !mustList) {
              // The resume point fell out of the server's history: relist now, then report what changed.
              mustList = true
              return count(metrics.expired).pipe(
                Effect.andThen(Effect.logInfo("watch expired (410), relisting", { ...where, resourceVersion })),
              )
            }
            return count(metrics.failures).pipe(
              Effect.andThen(
                Effect.logWarning("watch failed, reconnecting after backoff", {
                  ...where,
                  resourceVersion,
                  relist: mustList,
                  error: error.message,
                  retryable: error.isRetryable,
                }),
              ),
              Effect.andThen(backoff(error)),
              Effect.tap((meta) =>
                Effect.logDebug("watch reconnecting", { ...where, delay: Duration.format(meta.duration) }),
              ),
              Effect.asVoid,
              Pull.catchDone(() => Effect.void),
            )
          }),
        )

        return yield* Effect.forever(step)
      }),
    { bufferSize: options.bufferSize ?? 1024, strategy: "suspend" },
  )
