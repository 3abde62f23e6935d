/**
 * Writing status: through the `/status` subresource, only when it differs from the live one, with an Event when
 * `Ready` or `Degraded` flips. What the plan could not know (a child the API server refused, one another owner
 * controls) enters the status here, in an order that does not depend on the order the answers arrived in.
 */
import { type EventRecorder, Kinds, type KubeClientShape, type KubeObject, type Live } from "@cartographer/k8s"
import type { Condition, WorkspaceStatus } from "@cartographer/schema"
import { Effect, Option } from "effect"
import type { ExecutionProblem } from "../plan/status.js"
import { slim } from "./Cache.js"
import type { Write } from "./Faults.js"
import { sameJson } from "./NoOp.js"
import type { OwnWrites } from "./OwnWrites.js"
import { type ChildRejected, classify, ReconcileError } from "./ReconcileError.js"

export const conditionOf = (status: WorkspaceStatus | undefined, type: Condition["type"]): Condition | undefined =>
  status?.conditions?.find((c) => c.type === type)

/**
 * The problem execution met, for `Degraded`: refusals first (they need someone to act), else conflicts. Sorted, so
 * that the same problems always read the same.
 */
export const executionProblem = (
  rejected: ReadonlyArray<ChildRejected>,
  conflicts: ReadonlyArray<string>,
): ExecutionProblem | undefined => {
  if (rejected.length > 0) {
    const refusals = rejected.map((r) => `${r.object}: ${r.message}`).sort()
    return { reason: "ApplyRejected", message: `The API server refused ${refusals.join("; ")}` }
  }
  if (conflicts.length > 0)
    return { reason: "OwnershipConflict", message: `Not touched: ${[...conflicts].sort().join("; ")}` }
  return undefined
}

/** An Event worth recording for a status change. */
export interface TransitionEvent {
  readonly type: "Normal" | "Warning"
  readonly reason: string
  readonly note: string
}

/**
 * The Events a status change deserves — few, so that a Workspace coming up records one (`Ready`), not one per
 * intermediate reason: `Ready` gained (Normal) or lost after having been True (Warning); `Degraded` raised or its
 * reason changed (Warning), or cleared (Normal, `Recovered`).
 */
export const transitionEvents = (
  previous: WorkspaceStatus | undefined,
  next: WorkspaceStatus,
): ReadonlyArray<TransitionEvent> => {
  const events: Array<TransitionEvent> = []
  const readyBefore = conditionOf(previous, "Ready")
  const ready = conditionOf(next, "Ready")
  if (ready !== undefined && ready.status !== readyBefore?.status) {
    if (ready.status === "True") events.push({ type: "Normal", reason: ready.reason, note: ready.message })
    else if (readyBefore?.status === "True") events.push({ type: "Warning", reason: ready.reason, note: ready.message })
  }
  const degradedBefore = conditionOf(previous, "Degraded")
  const degraded = conditionOf(next, "Degraded")
  if (
    degraded !== undefined &&
    (degraded.status !== degradedBefore?.status || degraded.reason !== degradedBefore?.reason)
  ) {
    if (degraded.status === "True") events.push({ type: "Warning", reason: degraded.reason, note: degraded.message })
    else if (degradedBefore?.status === "True") {
      events.push({ type: "Normal", reason: "Recovered", note: `No longer degraded (was ${degradedBefore.reason})` })
    }
  }
  return events
}

export interface WriteStatusContext {
  readonly client: KubeClientShape
  readonly ownWrites: OwnWrites
  readonly recorder: EventRecorder.Recorder
  readonly fieldManager: string
  /** Runs after each accepted write (the engine's fault hook). */
  readonly wrote: (write: Write) => Effect.Effect<void>
}

/**
 * `writeStatus(key, live, status)`: writes `status` to the Workspace `live` unless it already has it; succeeds with
 * whether it wrote.
 */
export const makeWriteStatus =
  (ctx: WriteStatusContext) =>
  (key: string, live: Live<KubeObject>, status: WorkspaceStatus): Effect.Effect<boolean, ReconcileError> =>
    Effect.gen(function* () {
      if (sameJson(status, live.status)) return false
      const { namespace, name } = live.metadata
      const result = yield* ctx.client
        .applyStatus(
          Kinds.Workspace,
          {
            apiVersion: live.apiVersion,
            kind: live.kind,
            metadata: namespace === undefined ? { name } : { name, namespace },
            status,
          },
          { fieldManager: ctx.fieldManager },
        )
        .pipe(
          Effect.map(Option.some),
          // Deleted meanwhile: nothing to report on.
          Effect.catchReason("K8sError", "NotFound", () => Effect.succeed(Option.none<Live<KubeObject>>())),
          Effect.mapError((error) => new ReconcileError({ reason: classify(key, "status", error) })),
        )
      if (Option.isNone(result)) return false
      ctx.ownWrites.recordWrite("Workspace", slim(result.value), key)
      yield* ctx.wrote({ key, verb: "status", kind: "Workspace", namespace: namespace ?? "", name })
      const previous = live.status as WorkspaceStatus | undefined
      yield* Effect.forEach(
        transitionEvents(previous, status),
        (event) =>
          ctx.recorder.record({
            regarding: { apiVersion: live.apiVersion, kind: live.kind, metadata: live.metadata },
            action: "Reconcile",
            ...event,
          }),
        { discard: true },
      )
      return true
    })
