/**
 * Fault injection points of the engine, for tests that reproduce what Sieve-style testing finds (crashes between
 * writes, lagging caches, lost events) without editing engine code. Production never provides this service: the
 * default does nothing and costs one function call per write or watch event.
 *
 * ```ts
 * Engine.make(options).pipe(Effect.provideService(Faults, {
 *   afterWrite: (write) => write.verb === "apply" && write.kind === "Deployment" ? Effect.die("crash") : Effect.void,
 *   beforeEvent: (event) => Effect.succeed(event.kind !== "Deployment"), // no reconcile for Deployment events
 * }))
 * ```
 */
import { Context, Effect } from "effect"

/** One write a reconcile made, reported after the API server accepted it. */
export interface Write {
  /** The Workspace being reconciled (`namespace/name`). */
  readonly key: string
  readonly verb: "apply" | "create" | "delete" | "status"
  readonly kind: string
  readonly namespace: string
  readonly name: string
}

/** A watch event about to enter the engine's cache. */
export interface WatchEventInfo {
  readonly kind: string
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "SYNCED"
  /** `namespace/name` of the object (absent for `SYNCED`). */
  readonly object?: string | undefined
}

export interface FaultsShape {
  /**
   * Runs after each successful write of a reconcile, before the next step. Failing or dying here simulates a crash
   * between two writes (the reconcile ends with an error and is retried); sleeping simulates a slow operator.
   */
  readonly afterWrite: (write: Write) => Effect.Effect<void>
  /**
   * Runs for each watch event before it reaches the cache. Sleeping delays it and every later event of that kind
   * (a lagging cache: reconciles meanwhile see the old state). `false` lets the cache take the event but drops its
   * notification, so no reconcile is queued for it (an unobserved change, or events coalesced away). Failing or
   * dying crashes that watch stream, which the engine restarts with backoff while the others go on.
   */
  readonly beforeEvent: (event: WatchEventInfo) => Effect.Effect<boolean>
}

const none: FaultsShape = {
  afterWrite: () => Effect.void,
  beforeEvent: () => Effect.succeed(true),
}

/** The engine's fault injection points; defaults to none. */
export const Faults = Context.Reference<FaultsShape>("@cartographer/reconciler/engine/Faults", {
  defaultValue: () => none,
})
