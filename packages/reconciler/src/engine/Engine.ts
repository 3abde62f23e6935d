/**
 * The engine: watches Workspaces and their children, and reconciles each Workspace that changed on a keyed work
 * queue (controller-runtime's controller, as Effect fibers).
 *
 * - `make` starts the watches at once (caches warm while this replica is not the leader, which speeds fail-over).
 *   Every event is mapped to the key of its Workspace and queued; echoes of the engine's own writes are not.
 * - `run` starts the workers once every cache has synced — only the leader should run it. Interrupting it stops
 *   taking keys and drains in-flight reconciles within `shutdownGrace`.
 * - A periodic resync (every `resyncPeriod` × [0.9, 1.1)) queues every Workspace at low priority: the safety net
 *   for anything a watch could not tell. A converged Workspace costs no write on a resync (see `NoOp.ts`).
 *
 * Supervision: each watch stream restarts with backoff on its own when it stops (`Cache.ts`); one Workspace that
 * fails is retried with its own backoff while the others proceed; a reconcile that fails or dies, or takes longer
 * than `reconcileTimeout`, is an error outcome, never a crash of the engine.
 */
import { hostname } from "node:os"
import {
  EventRecorder,
  type K8sError,
  Kinds,
  KubeClient,
  type KubeObject,
  type Live,
  objectKey,
} from "@cartographer/k8s"
import { Cause, Clock, Duration, Effect, Exit, Random, type Scope } from "effect"
import type { ManagedKind } from "../plan/kube.js"
import { labelKeys, managedBy } from "../plan/labels.js"
import * as Cache from "./Cache.js"
import { Faults } from "./Faults.js"
import { managedKindNames, managedKinds, optionalKinds } from "./ManagedKinds.js"
import { workspaceKeyOf } from "./Observe.js"
import { outcomeOf, type ReconcileResult, resultOf } from "./Outcome.js"
import { OwnWrites } from "./OwnWrites.js"
import * as Reconcile from "./Reconcile.js"
import { SecretReaders, toSecretFacts, unmanagedSelector } from "./ReferencedSecrets.js"
import { makeStrings } from "./Strings.js"
import * as WorkQueue from "./WorkQueue.js"

export type { ReconcileResult } from "./Outcome.js"
export type { QueueEvent } from "./WorkQueue.js"

export interface EngineObserver {
  /** After each reconcile: its Workspace key, how it ended and how long it took. */
  readonly reconciled: (o: { readonly key: string; readonly result: ReconcileResult; readonly seconds: number }) => void
  /** Queue activity: effective adds, retries after errors, and the depth whenever it changes. */
  readonly queue: (e: WorkQueue.QueueEvent) => void
}

export interface EngineOptions {
  /** Namespaces to watch and reconcile. Default: all namespaces (cluster-wide watches). */
  readonly namespaces?: ReadonlyArray<string> | undefined
  /** Workspaces reconciled at the same time (never two runs of one Workspace). Default 4. */
  readonly concurrency?: number | undefined
  /** Every Workspace is reconciled again this often, × a random factor in [0.9, 1.1). Default 10 hours. */
  readonly resyncPeriod?: Duration.Input | undefined
  /** First retry delay after an error, doubling per consecutive failure. Default 5 milliseconds. */
  readonly backoffBase?: Duration.Input | undefined
  /** Longest retry delay. Default 5 minutes. */
  readonly backoffCap?: Duration.Input | undefined
  /** Field manager of every write. Default: the client's (`KubeClient.defaults.fieldManager`, `"cartographer"`). */
  readonly fieldManager?: string | undefined
  /** How long in-flight reconciles may take to finish once `run` is interrupted. Default 30 seconds. */
  readonly shutdownGrace?: Duration.Input | undefined
  /** Metrics and log hooks. Default: none. */
  readonly observer?: EngineObserver | undefined
  /**
   * A Workspace still progressing (migration, rollout) after a reconcile that wrote is reconciled again after this.
   * One whose reconcile wrote nothing waits for a change of its children instead. Default 30 seconds.
   */
  readonly progressingRequeue?: Duration.Input | undefined
  /**
   * A Workspace with a child refused from outside it (its namespace does not exist yet, a quota, a policy) is
   * reconciled again after this, so it recovers once the cause is fixed. Default 2 minutes.
   */
  readonly rejectedRecheck?: Duration.Input | undefined
  /** A reconcile running longer than this is abandoned as an error (and retried). Default 5 minutes. */
  readonly reconcileTimeout?: Duration.Input | undefined
  /** `reportingInstance` of the Events the engine records. Default: the host name. */
  readonly identity?: string | undefined
}

export interface Engine {
  /** Completes once every watch's initial list is in its cache. */
  readonly synced: Effect.Effect<void>
  readonly isSynced: Effect.Effect<boolean>
  /**
   * The reconcile workers; run only while leader. Waits for `synced`, then never completes. Interrupting it stops
   * taking work and drains in-flight reconciles within `shutdownGrace`.
   */
  readonly run: Effect.Effect<never>
  /** Workspaces waiting in the queue (not counting delayed or in-flight ones). */
  readonly depth: Effect.Effect<number>
}

export const defaults = {
  concurrency: WorkQueue.defaults.concurrency,
  resyncPeriod: Duration.hours(10),
  backoffBase: WorkQueue.defaults.backoffBase,
  backoffCap: WorkQueue.defaults.backoffCap,
  fieldManager: KubeClient.defaults.fieldManager,
  shutdownGrace: WorkQueue.defaults.shutdownGrace,
  progressingRequeue: Duration.seconds(30),
  rejectedRecheck: Duration.minutes(2),
  reconcileTimeout: Duration.minutes(5),
} as const

/** The label every child carries: the engine watches only these. */
const managedBySelector = `${labelKeys.managedBy}=${managedBy}`

/** `reportingController` of the engine's Events. */
const reportingController = "mlops.aigency.com/cartographer"

const noObserver: EngineObserver = { reconciled: () => {}, queue: () => {} }

/** Starts the watches in the current scope and returns the engine. */
export const make = (options: EngineOptions = {}): Effect.Effect<Engine, K8sError, KubeClient | Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* KubeClient
    const faults = yield* Faults
    const observer = options.observer ?? noObserver
    const duration = (input: Duration.Input | undefined, fallback: Duration.Duration) =>
      input === undefined ? fallback : Duration.fromInputUnsafe(input)
    const resyncMillis = Duration.toMillis(duration(options.resyncPeriod, defaults.resyncPeriod))
    const reconcileTimeout = duration(options.reconcileTimeout, defaults.reconcileTimeout)

    const queue = yield* WorkQueue.make({
      concurrency: options.concurrency,
      backoffBase: options.backoffBase,
      backoffCap: options.backoffCap,
      shutdownGrace: options.shutdownGrace,
      onEvent: observer.queue,
    })
    const ownWrites = new OwnWrites()
    const recorder = yield* EventRecorder.make({
      reportingController,
      reportingInstance: options.identity ?? hostname(),
    })

    const enqueue = (key: string, initial: boolean) => queue.add(key, initial ? "low" : "normal")
    // What every cache keeps of an object: the fields the engine reads, their repeated strings shared.
    const strings = makeStrings()
    const transform = <B extends KubeObject>(object: Live<B>): Live<B> => strings.share(Cache.slim(object))

    const readers = new SecretReaders()
    const workspaces = yield* Cache.make(Kinds.Workspace, {
      namespaces: options.namespaces,
      transform,
      ownersOf: (object) => [objectKey(object.metadata)],
      onChange: (change) => {
        if (change.type === "SYNCED") return Effect.void
        const key = objectKey(change.object.metadata)
        readers.track(key, change.type === "DELETED" ? undefined : change.object)
        if (ownWrites.observe("Workspace", change.type, change.object)) return Effect.void
        return enqueue(key, change.initial)
      },
    })

    // Secrets the Workspaces read but do not own: a change queues the Workspaces that read it.
    const secretFacts = yield* Cache.make(Kinds.Secret, {
      namespaces: options.namespaces,
      labelSelector: unmanagedSelector,
      transform: toSecretFacts,
      ownersOf: () => [],
      onChange: (change) =>
        change.type === "SYNCED"
          ? Effect.void
          : Effect.forEach(
              readers.readersOf(objectKey(change.object.metadata)),
              (key) => enqueue(key, change.initial),
              {
                discard: true,
              },
            ),
    })

    const children = {} as Record<ManagedKind, Cache.Cache<KubeObject>>
    for (const kind of managedKindNames) {
      children[kind] = yield* Cache.make(managedKinds[kind], {
        namespaces: options.namespaces,
        labelSelector: managedBySelector,
        transform,
        // A kind whose CRDs are not installed is watched as empty, so that the engine still syncs and runs.
        watch: { notServedAsEmpty: optionalKinds[kind] !== undefined },
        ownersOf: (object) => {
          const key = workspaceKeyOf(object)
          return key === undefined ? [] : [key]
        },
        onChange: (change) =>
          Effect.gen(function* () {
            if (change.type === "SYNCED") return
            if (ownWrites.observe(kind, change.type, change.object)) return
            const owners = new Set(change.previousOwners)
            const current = workspaceKeyOf(change.object)
            if (current !== undefined) owners.add(current)
            for (const owner of owners) yield* enqueue(owner, change.initial)
          }),
      })
    }

    const caches = [workspaces, secretFacts, ...Object.values(children)]
    const synced = Effect.all(
      caches.map((cache) => cache.synced),
      { concurrency: "unbounded", discard: true },
    )
    const isSynced = Effect.all(caches.map((cache) => cache.isSynced)).pipe(Effect.map((all) => all.every(Boolean)))

    // The resync: every Workspace, low priority, at a jittered period.
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          const factor = 0.9 + 0.2 * (yield* Random.next)
          yield* Effect.sleep(Duration.millis(resyncMillis * factor))
          const keys = workspaces.keys()
          yield* Effect.logDebug("resync", { workspaces: keys.length })
          for (const key of keys) yield* queue.add(key, "low")
        }),
      ),
    )

    const reconcile = Reconcile.make({
      client,
      workspaces,
      children,
      secretFacts,
      watches: (namespace: string) =>
        options.namespaces === undefined || options.namespaces.length === 0 || options.namespaces.includes(namespace),
      ownWrites,
      recorder,
      faults,
      fieldManager: options.fieldManager ?? defaults.fieldManager,
      progressingRequeue: duration(options.progressingRequeue, defaults.progressingRequeue),
      rejectedRecheck: duration(options.rejectedRecheck, defaults.rejectedRecheck),
    })

    const handle = (key: string): Effect.Effect<WorkQueue.Outcome> =>
      Effect.gen(function* () {
        const started = yield* Clock.currentTimeMillis
        const exit = yield* reconcile(key).pipe(
          Effect.timeoutOption(reconcileTimeout),
          Effect.exit,
          // Interruption is the queue's (shutdown): it passes through.
          Effect.flatMap((exit) =>
            Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? Effect.interrupt : Effect.succeed(exit),
          ),
        )
        const outcome = outcomeOf(key, reconcileTimeout, exit)
        const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
        observer.reconciled({ key, result: resultOf(outcome), seconds })
        if (outcome._tag === "Error" || outcome._tag === "Terminal") {
          const error = outcome.error
          yield* Effect.logWarning("reconcile failed", {
            key,
            result: resultOf(outcome),
            seconds,
            error: error instanceof Error ? error.message : String(error),
          })
        } else {
          yield* Effect.logDebug("reconciled", { key, result: resultOf(outcome), seconds })
        }
        return outcome
      })

    return {
      synced,
      isSynced,
      run: synced.pipe(Effect.andThen(queue.run(handle))),
      depth: queue.depth,
    } satisfies Engine
  })
