/**
 * The keyed work queue of the engine (client-go's workqueue with controller-runtime's priority queue semantics):
 *
 * - **Keys, not events.** A key (`namespace/name`) is queued at most once however often it is added; a key added
 *   while it is being processed is marked dirty and queued again when that run ends. One key never runs twice at
 *   once; different keys run on up to `concurrency` workers.
 * - **Two priorities.** Keys added by real changes go before keys added by an initial list or a periodic resync
 *   (controller-runtime gives those priority −100), so a restart or a resync of 1,000 Workspaces does not delay a
 *   user's edit. A queued low-priority key added again with normal priority is promoted.
 * - **Outcomes.** The handler decides each run's outcome (the engine maps a reconcile's end to one in one place);
 *   the queue never interprets a failure. `Success` forgets the key's failures. `Error` requeues it after a per-key exponential backoff with
 *   jitter (never shorter than a server's `Retry-After`). `Terminal` forgets it: retrying cannot help, so it waits
 *   for the next change or resync. `RequeueAfter` forgets the failures and queues the key again after the delay.
 *   A delayed add never postpones an earlier one, and an immediate add cancels a pending delayed one.
 * - **Shutdown.** Interrupting `run` stops taking keys at once and lets in-flight runs finish within
 *   `shutdownGrace`; runs still going after that are interrupted (and their keys stay queued for a later `run`).
 *
 * Time comes from `Clock` and randomness from `Random`, so the whole queue is testable with `TestClock`.
 */
import { Clock, Duration, Effect, Exit, Fiber, FiberMap, Queue, Random, type Scope } from "effect"

export type Priority = "normal" | "low"

/** What a run of a key decided. */
export type Outcome =
  | { readonly _tag: "Success" }
  /** Progressing: look again after `delay` (failures are forgotten). */
  | { readonly _tag: "RequeueAfter"; readonly delay: Duration.Duration }
  /** Retry with backoff; `retryAfter` is a lower bound the server asked for. */
  | { readonly _tag: "Error"; readonly error: unknown; readonly retryAfter?: Duration.Duration | undefined }
  /** Retrying cannot help; wait for the next change or resync. */
  | { readonly _tag: "Terminal"; readonly error: unknown }

export const Outcome = {
  success: { _tag: "Success" } as Outcome,
  requeueAfter: (delay: Duration.Input): Outcome => ({
    _tag: "RequeueAfter",
    delay: Duration.fromInputUnsafe(delay),
  }),
  error: (error: unknown, retryAfter?: Duration.Duration | undefined): Outcome => ({
    _tag: "Error",
    error,
    retryAfter,
  }),
  terminal: (error: unknown): Outcome => ({ _tag: "Terminal", error }),
} as const

/** Queue activity, for metrics (`workqueue_adds_total`, `workqueue_retries_total`, `workqueue_depth`). */
export type QueueEvent =
  | { readonly type: "add" | "retry"; readonly key: string }
  | { readonly type: "depth"; readonly depth: number }

export interface WorkQueueOptions {
  /** Keys processed at the same time (never two runs of one key). Default 4. */
  readonly concurrency?: number | undefined
  /** First retry delay after an error. Default 5 milliseconds (client-go). */
  readonly backoffBase?: Duration.Input | undefined
  /** Longest retry delay. Default 5 minutes. */
  readonly backoffCap?: Duration.Input | undefined
  /**
   * Each retry delay `d` is drawn uniformly from `(d · (1 − jitter), d]`, so keys that failed together (an API
   * server outage) do not retry together. Default 0.5; 0 disables jitter.
   */
  readonly backoffJitter?: number | undefined
  /** How long in-flight runs may take to finish once `run` is interrupted. Default 30 seconds. */
  readonly shutdownGrace?: Duration.Input | undefined
  /** Called synchronously on queue activity. Default: nothing. */
  readonly onEvent?: ((event: QueueEvent) => void) | undefined
}

export const defaults = {
  concurrency: 4,
  backoffBase: Duration.millis(5),
  backoffCap: Duration.minutes(5),
  backoffJitter: 0.5,
  shutdownGrace: Duration.seconds(30),
} as const

export interface WorkQueue {
  /** Queues `key` now (deduplicated; a pending delayed add of it is cancelled). */
  readonly add: (key: string, priority?: Priority) => Effect.Effect<void>
  /** Queues `key` after `delay`, unless it is already due sooner. */
  readonly addAfter: (key: string, delay: Duration.Input, priority?: Priority) => Effect.Effect<void>
  /** Keys waiting to be taken (not counting delayed or in-flight ones). */
  readonly depth: Effect.Effect<number>
  /** Keys being processed right now. */
  readonly inFlight: Effect.Effect<ReadonlyArray<string>>
  /** Consecutive failures of `key` (0 after a success). */
  readonly failures: (key: string) => Effect.Effect<number>
  /**
   * Processes keys with `handler` on `concurrency` workers until interrupted, then drains (see the module doc).
   * The handler cannot fail: a run that does not end with an outcome was interrupted, and its key runs again.
   */
  readonly run: <R>(handler: (key: string) => Effect.Effect<Outcome, never, R>) => Effect.Effect<never, never, R>
}

/** The retry delay after `failures` consecutive failures (1 = first), before jitter. */
export const nominalBackoff = (failures: number, base: Duration.Duration, cap: Duration.Duration): number => {
  const baseMillis = Duration.toMillis(base)
  const capMillis = Duration.toMillis(cap)
  // 2^n overflows to Infinity long after the cap is reached; Math.min keeps it finite.
  return Math.min(capMillis, baseMillis * 2 ** Math.max(0, failures - 1))
}

/** Creates a queue; its delayed-add timers live in the current scope. */
export const make = (options: WorkQueueOptions = {}): Effect.Effect<WorkQueue, never, Scope.Scope> =>
  Effect.gen(function* () {
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? defaults.concurrency))
    const base =
      options.backoffBase === undefined ? defaults.backoffBase : Duration.fromInputUnsafe(options.backoffBase)
    const cap = options.backoffCap === undefined ? defaults.backoffCap : Duration.fromInputUnsafe(options.backoffCap)
    const jitter = Math.min(1, Math.max(0, options.backoffJitter ?? defaults.backoffJitter))
    const grace =
      options.shutdownGrace === undefined ? defaults.shutdownGrace : Duration.fromInputUnsafe(options.shutdownGrace)
    const notify = options.onEvent ?? (() => {})

    // Ready keys in two FIFO lanes (a Set keeps insertion order and deletes in O(1), for promotions).
    const lanes: Record<Priority, Set<string>> = { normal: new Set(), low: new Set() }
    const queued = new Map<string, Priority>()
    const processing = new Set<string>()
    /** Keys added while they were processing: queued again (with this priority) when the run ends. */
    const dirty = new Map<string, Priority>()
    const failureCounts = new Map<string, number>()
    /** When each pending delayed add is due (epoch ms). */
    const dueAt = new Map<string, number>()
    // One token per key in the lanes: workers wait on this, so an idle queue costs nothing.
    const tokens = yield* Queue.unbounded<void>()
    const timers = yield* FiberMap.make<string>()

    const higher = (a: Priority, b: Priority | undefined): Priority =>
      a === "normal" || b === "normal" ? "normal" : "low"

    const enqueueUnsafe = (key: string, priority: Priority): void => {
      if (processing.has(key)) {
        dirty.set(key, higher(priority, dirty.get(key)))
        return
      }
      const current = queued.get(key)
      if (current !== undefined) {
        if (current === "low" && priority === "normal") {
          lanes.low.delete(key)
          lanes.normal.add(key)
          queued.set(key, "normal")
        }
        return
      }
      queued.set(key, priority)
      lanes[priority].add(key)
      Queue.offerUnsafe(tokens, undefined)
      notify({ type: "add", key })
      notify({ type: "depth", depth: queued.size })
    }

    const cancelTimer = (key: string) =>
      Effect.suspend(() => {
        if (!dueAt.has(key)) return Effect.void
        dueAt.delete(key)
        return FiberMap.remove(timers, key)
      })

    const add = (key: string, priority: Priority = "normal") =>
      cancelTimer(key).pipe(Effect.andThen(Effect.sync(() => enqueueUnsafe(key, priority))))

    const addAfter = (key: string, delay: Duration.Input, priority: Priority = "normal") =>
      Effect.gen(function* () {
        const millis = Math.max(0, Duration.toMillis(Duration.fromInputUnsafe(delay)))
        if (millis === 0) return yield* add(key, priority)
        const due = (yield* Clock.currentTimeMillis) + millis
        const pending = dueAt.get(key)
        if (pending !== undefined && pending <= due) return
        dueAt.set(key, due)
        yield* FiberMap.run(
          timers,
          key,
          Effect.sleep(Duration.millis(millis)).pipe(
            Effect.andThen(
              Effect.sync(() => {
                dueAt.delete(key)
                enqueueUnsafe(key, priority)
              }),
            ),
          ),
        )
      })

    /** The next key to process (called right after a token was taken). */
    const popUnsafe = (): string => {
      const lane = lanes.normal.size > 0 ? lanes.normal : lanes.low
      const key = lane.values().next().value as string
      lane.delete(key)
      queued.delete(key)
      processing.add(key)
      notify({ type: "depth", depth: queued.size })
      return key
    }

    /** Ends a run of `key`: applies its outcome and re-queues it if it was added meanwhile. */
    const done = (key: string, outcome: Outcome | "interrupted") =>
      Effect.gen(function* () {
        processing.delete(key)
        const again = dirty.get(key)
        dirty.delete(key)
        if (outcome === "interrupted") {
          // Shutdown cut it short: it must run again under the next `run`.
          enqueueUnsafe(key, "normal")
          return
        }
        switch (outcome._tag) {
          case "Success":
          case "Terminal":
            failureCounts.delete(key)
            break
          case "RequeueAfter":
            failureCounts.delete(key)
            yield* addAfter(key, outcome.delay)
            break
          case "Error": {
            const failures = (failureCounts.get(key) ?? 0) + 1
            failureCounts.set(key, failures)
            const nominal = nominalBackoff(failures, base, cap)
            const random = yield* Random.next
            const jittered = nominal * (1 - jitter * random)
            const floor = outcome.retryAfter === undefined ? 0 : Duration.toMillis(outcome.retryAfter)
            notify({ type: "retry", key })
            // A change that arrived during the failed run should not wait out the backoff.
            if (again === undefined) yield* addAfter(key, Duration.millis(Math.max(jittered, floor)))
            break
          }
        }
        if (again !== undefined) enqueueUnsafe(key, again)
      })

    const inFlightFibers = new Set<Fiber.Fiber<void>>()

    const run = <R>(handler: (key: string) => Effect.Effect<Outcome, never, R>): Effect.Effect<never, never, R> =>
      Effect.gen(function* () {
        // `onExit` runs even when the run is interrupted at the end of the shutdown grace.
        const process = (key: string): Effect.Effect<void, never, R> =>
          Effect.suspend(() => handler(key)).pipe(
            Effect.onExit((exit) => done(key, Exit.isSuccess(exit) ? exit.value : "interrupted")),
            Effect.ignoreCause,
          )

        // Taking a key and starting its run happen without an interruption point in between, so a shutdown never
        // strands a taken key; the run gets its own fiber, which interrupting the workers does not touch (drain).
        const worker = Effect.forever(
          Effect.uninterruptibleMask((restore) =>
            Effect.gen(function* () {
              yield* restore(Queue.take(tokens))
              const key = popUnsafe()
              const fiber = yield* Effect.forkDetach(process(key), { startImmediately: true, uninterruptible: false })
              if (fiber.pollUnsafe() === undefined) {
                inFlightFibers.add(fiber)
                fiber.addObserver(() => inFlightFibers.delete(fiber))
              }
              yield* restore(Fiber.await(fiber))
            }),
          ),
        )

        const drain = Effect.gen(function* () {
          const fibers = [...inFlightFibers]
          if (fibers.length === 0) return
          yield* Effect.logInfo("work queue draining", { inFlight: fibers.length, grace: Duration.format(grace) })
          const finished = yield* Effect.interruptible(Fiber.awaitAll(fibers)).pipe(Effect.timeoutOption(grace))
          if (finished._tag === "None") {
            yield* Effect.logWarning("shutdown grace period over: interrupting in-flight runs", {
              inFlight: [...inFlightFibers].length,
            })
            yield* Fiber.interruptAll(fibers)
          }
        })

        return yield* Effect.all(
          Array.from({ length: concurrency }, () => worker),
          {
            concurrency: "unbounded",
            discard: true,
          },
        ).pipe(
          Effect.andThen(Effect.never),
          Effect.onInterrupt(() => drain),
        )
      })

    return {
      add,
      addAfter,
      depth: Effect.sync(() => queued.size),
      inFlight: Effect.sync(() => [...processing]),
      failures: (key) => Effect.sync(() => failureCounts.get(key) ?? 0),
      run,
    } satisfies WorkQueue
  })
