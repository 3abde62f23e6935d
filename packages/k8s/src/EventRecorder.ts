/**
 * Kubernetes Events (`events.k8s.io/v1`) for `kubectl describe` / `kubectl get events`, after client-go's events
 * recorder:
 *
 * - **Series.** An event isomorphic to one recorded less than `seriesWindow` (6 min) ago — same regarding and
 *   related object, type, reason, action and controller; the note is not compared, so a changing error text
 *   does not defeat it — joins that Event's `series` (count, lastObservedTime) instead of creating a new one.
 *   Series counts are written at most once per `seriesUpdateInterval` (1 min).
 * - **Rate limit.** All writes pass one token bucket (1/s, burst 25); at most `maxQueued` (1000) writes wait,
 *   later ones are dropped.
 * - **Never fails the caller, by design.** `record` only updates memory and enqueues; a background fiber writes
 *   with server-side apply and a few retries, and any failure is logged and swallowed. Events are diagnostics:
 *   losing one must never fail or slow a reconcile.
 */
import { Cause, Clock, Duration, Effect, Queue, type Scope } from "effect"
import { formatMicroTime } from "./internal/microTime.js"
import { truncateUtf8 } from "./internal/utf8.js"
import { Kinds } from "./Kinds.js"
import { KubeClient } from "./KubeClient.js"
import type { KubeEvent, KubeObject, ObjectReference } from "./KubeObject.js"

export interface EventRecorderOptions {
  /** `reportingController`, a qualified name such as `mlops.aigency.com/cartographer`. Required. */
  readonly reportingController: string
  /** `reportingInstance` (≤ 128 characters), e.g. the pod name or leader-election identity. Required. */
  readonly reportingInstance: string
  /** Field manager of Event writes. Default `"cartographer-events"`. */
  readonly fieldManager?: string | undefined
  /** A repeat within this window joins the existing Event's series. Default 6 minutes (client-go). */
  readonly seriesWindow?: Duration.Input | undefined
  /** A series count is written at most this often. Default 1 minute. */
  readonly seriesUpdateInterval?: Duration.Input | undefined
  /** Sustained Event writes per second. Default 1. */
  readonly writesPerSecond?: number | undefined
  /** Writes allowed in a burst. Default 25. */
  readonly burst?: number | undefined
  /** Writes waiting for the API; beyond this, new ones are dropped (and logged). Default 1000 (client-go). */
  readonly maxQueued?: number | undefined
}

export interface EventInput {
  /** The object the event is about (its `metadata.uid` is used when present). */
  readonly regarding: KubeObject
  /** A second object involved, if any. */
  readonly related?: KubeObject | undefined
  readonly type: "Normal" | "Warning"
  /** CamelCase, ≤ 128 characters (longer is truncated). */
  readonly reason: string
  /** What was done or failed (`Reconcile`, `Apply`), ≤ 128 characters. */
  readonly action: string
  /** Human-readable detail, ≤ 1 KiB (longer is truncated). */
  readonly note?: string | undefined
}

export interface Recorder {
  /** Records an event. Never fails, never waits for the API. */
  readonly record: (event: EventInput) => Effect.Effect<void>
}

interface Series {
  readonly name: string
  readonly namespace: string
  /** The Event as first written (no series). */
  readonly event: KubeEvent
  count: number
  lastObserved: number
  lastObservedTime: string
  /** The count the server has (0 until the first write succeeds). */
  writtenCount: number
  lastWritten: number
  queued: boolean
  /** Write rounds that failed; after `maxWriteRounds` the series is treated as written (given up). */
  failures: number
}

const maxWriteRounds = 3

const referenceOf = (object: KubeObject): ObjectReference => {
  const metadata = object.metadata ?? {}
  return {
    ...(object.apiVersion === undefined ? {} : { apiVersion: object.apiVersion }),
    ...(object.kind === undefined ? {} : { kind: object.kind }),
    ...(metadata.name === undefined ? {} : { name: metadata.name }),
    ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
    ...(metadata.uid === undefined ? {} : { uid: metadata.uid }),
  }
}

const referenceKey = (ref: ObjectReference | undefined): string =>
  ref === undefined ? "" : [ref.apiVersion, ref.kind, ref.namespace, ref.name, ref.uid].join("/")

/** Starts a recorder whose writer fiber lives in the current scope. */
export const make = (options: EventRecorderOptions): Effect.Effect<Recorder, never, KubeClient | Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* KubeClient
    const fieldManager = options.fieldManager ?? "cartographer-events"
    const seriesWindow = Duration.toMillis(Duration.fromInputUnsafe(options.seriesWindow ?? "6 minutes"))
    const updateInterval = Duration.fromInputUnsafe(options.seriesUpdateInterval ?? "1 minute")
    const rate = options.writesPerSecond ?? 1
    const burst = options.burst ?? 25
    const series = new Map<string, Series>()
    const pending = yield* Queue.dropping<string>(options.maxQueued ?? 1000)

    const enqueue = (key: string, entry: Series) =>
      Effect.gen(function* () {
        if (entry.queued) return
        entry.queued = true
        if (!(yield* Queue.offer(pending, key))) {
          entry.queued = false
          yield* Effect.logWarning("event dropped: too many events waiting to be written", { event: entry.name })
        }
      })

    const record = (input: EventInput): Effect.Effect<void> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const nanos = yield* Clock.currentTimeNanos
        const time = formatMicroTime(nanos)
        const regarding = referenceOf(input.regarding)
        const related = input.related === undefined ? undefined : referenceOf(input.related)
        const reason = truncateUtf8(input.reason, 128)
        const action = truncateUtf8(input.action, 128)
        const key = [referenceKey(regarding), referenceKey(related), input.type, reason, action].join("\u0000")
        const existing = series.get(key)
        if (existing !== undefined && now - existing.lastObserved < seriesWindow) {
          existing.count++
          existing.lastObserved = now
          existing.lastObservedTime = time
          return
        }
        const namespace = regarding.namespace ?? "default"
        const name = `${regarding.name ?? "object"}.${nanos.toString(16)}`
        const event: KubeEvent = {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name, namespace },
          eventTime: time,
          reportingController: options.reportingController,
          reportingInstance: truncateUtf8(options.reportingInstance, 128),
          action,
          reason,
          type: input.type,
          regarding,
          ...(related === undefined ? {} : { related }),
          ...(input.note === undefined ? {} : { note: truncateUtf8(input.note, 1024) }),
        }
        const entry: Series = {
          name,
          namespace,
          event,
          count: 1,
          lastObserved: now,
          lastObservedTime: time,
          writtenCount: 0,
          lastWritten: 0,
          queued: false,
          failures: 0,
        }
        series.set(key, entry)
        yield* enqueue(key, entry)
      })

    // Token bucket, used only by the single writer fiber.
    let tokens = burst
    let refilledAt = yield* Clock.currentTimeMillis
    const takeToken = Effect.gen(function* () {
      while (true) {
        const now = yield* Clock.currentTimeMillis
        tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * rate)
        refilledAt = now
        if (tokens >= 1) break
        yield* Effect.sleep(Duration.millis(((1 - tokens) / rate) * 1000))
      }
      tokens -= 1
    })

    const write = (key: string) =>
      Effect.gen(function* () {
        const entry = series.get(key)
        if (entry === undefined) return
        entry.queued = false
        if (entry.writtenCount === entry.count) return
        yield* takeToken
        const count = entry.count
        const object: KubeEvent =
          count > 1 ? { ...entry.event, series: { count, lastObservedTime: entry.lastObservedTime } } : entry.event
        yield* client
          .apply(Kinds.Event, object, { fieldManager })
          .pipe(Effect.retry({ times: 2, while: (error) => error.isRetryable }))
        entry.writtenCount = Math.max(entry.writtenCount, count)
        entry.lastWritten = yield* Clock.currentTimeMillis
      }).pipe(
        // By design: an event that cannot be written is logged and, after a few rounds, forgotten — whatever the
        // cause. Interruption (shutdown) is not a failure and passes through.
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.failCause(cause)
            : Effect.gen(function* () {
                const entry = series.get(key)
                if (entry !== undefined && ++entry.failures >= maxWriteRounds) entry.writtenCount = entry.count
                yield* Effect.logWarning("could not write an event", { key, cause: Cause.pretty(cause) })
              }),
        ),
      )

    /** Writes grown series counts and forgets series whose window has closed. */
    const flush = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      for (const [key, entry] of series) {
        if (entry.count > entry.writtenCount) yield* enqueue(key, entry)
        else if (now - entry.lastObserved >= seriesWindow) series.delete(key)
      }
    })

    yield* Effect.forkScoped(Effect.forever(Queue.take(pending).pipe(Effect.flatMap(write))))
    yield* Effect.forkScoped(Effect.forever(Effect.sleep(updateInterval).pipe(Effect.andThen(flush))))

    return { record } satisfies Recorder
  })
