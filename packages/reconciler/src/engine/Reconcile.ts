/**
 * The reconcile handler (controller-runtime's `Reconciler`): one run for one Workspace key, returning a `Result` or
 * failing with a `ReconcileError`. Mapping either onto the work queue is the engine's job, in one place (`Engine.ts`).
 *
 * 1. **Gather** the Workspace and its children from the caches (`Gather.ts`) and plan (pure, `plan/`).
 * 2. **Apply** the plan (`Apply.ts`), which reports what it did as a value.
 * 3. **Prune** what the plan no longer produces (`Prune.ts`).
 * 4. **Write the status** (`WriteStatus.ts`). When the reconcile wrote anything, the status comes from a second plan
 *    over the view that holds those writes.
 *
 * How it ends: a request the API server may answer better later (5xx, 429, timeouts, conflicts) fails with a
 * retryable error (backoff). A child it refuses for good (422, 403, a missing namespace) is skipped, the rest of the
 * plan still runs, and the Workspace reports `Degraded/ApplyRejected`: retrying at once cannot help. An invalid
 * child (422) waits for the next change of the Workspace (terminal); a refusal from outside it (a namespace not
 * created yet, a quota, a policy) is looked at again after `rejectedRecheck`, so the Workspace recovers on its own
 * once an administrator fixes the cause. A plan whose decision changes by the clock (a failed migration's next
 * attempt, `Plan.requeueAfterSeconds`) is looked at again then, a Workspace still progressing after
 * `progressingRequeue`: the soonest wins.
 */
import type { EventRecorder, KubeClientShape, KubeObject } from "@cartographer/k8s"
import type { WorkspaceStatus } from "@cartographer/schema"
import { Clock, Duration, Effect } from "effect"
import { generatePassword, generateSecrets } from "../password.js"
import type { GeneratedSecrets } from "../plan/Observed.js"
import { checkWorkspace, plan, planInvalid } from "../plan/planner.js"
import { withExecutionProblem } from "../plan/status.js"
import { makeApply } from "./Apply.js"
import type { Cache } from "./Cache.js"
import type { FaultsShape, Write } from "./Faults.js"
import { type ChildCaches, makeGather, makeView } from "./Gather.js"
import { observedOf } from "./Observe.js"
import type { OwnWrites } from "./OwnWrites.js"
import { makePrune, workspaceRef } from "./Prune.js"
import { ApiUnavailable, InvalidSpec, OwnershipConflict, ReconcileError } from "./ReconcileError.js"
import { conditionOf, executionProblem, makeWriteStatus } from "./WriteStatus.js"

/** How a reconcile that did not fail wants to be looked at again (controller-runtime's `reconcile.Result`). */
export interface Result {
  /** Reconcile again after this long, whatever happens meanwhile. Absent: only on the next change or resync. */
  readonly requeueAfter?: Duration.Duration | undefined
}

export const Result = {
  done: {} as Result,
  requeueAfter: (delay: Duration.Duration): Result => ({ requeueAfter: delay }),
} as const

export interface ReconcileContext {
  readonly client: KubeClientShape
  readonly workspaces: Cache<KubeObject>
  readonly children: ChildCaches
  /** Secrets the Workspaces read but do not own, reduced to their facts (`ReferencedSecrets.ts`). */
  readonly secretFacts: Cache<KubeObject>
  /** Whether the operator watches a namespace (the Secrets of one it does not are not looked at). */
  readonly watches: (namespace: string) => boolean
  readonly ownWrites: OwnWrites
  readonly recorder: EventRecorder.Recorder
  readonly faults: FaultsShape
  readonly fieldManager: string
  /** How soon a Workspace that is still progressing is looked at again. */
  readonly progressingRequeue: Duration.Duration
  /** How soon a Workspace with a child refused from outside it (see `ChildRejected.external`) is looked at again. */
  readonly rejectedRecheck: Duration.Duration
}

/** RFC 3339 at second precision, as `metav1.Time` serialises. */
export const formatTime = (millis: number): string => new Date(millis).toISOString().replace(/\.\d{3}Z$/u, "Z")

/** The shortest of the delays that apply. */
const soonest = (...delays: ReadonlyArray<Duration.Duration | undefined>): Duration.Duration | undefined =>
  delays.reduce<Duration.Duration | undefined>(
    (a, b) => (a === undefined ? b : b === undefined ? a : Duration.min(a, b)),
    undefined,
  )

/** Plans made at most in one reconcile when the database Secret turns out to exist (each time from a fresher view). */
const maxPlans = 3

export const make = (ctx: ReconcileContext): ((key: string) => Effect.Effect<Result, ReconcileError>) => {
  const { client, ownWrites, fieldManager } = ctx
  const wrote = (write: Write) => ctx.faults.afterWrite(write)
  const view = makeView(ctx.children, ownWrites)
  const gather = makeGather(client, view, ctx.secretFacts, ctx.watches)
  const apply = makeApply({ client, view, ownWrites, fieldManager, wrote })
  const { prune, cleanup } = makePrune({ client, view, ownWrites, wrote })
  const writeStatus = makeWriteStatus({ client, ownWrites, recorder: ctx.recorder, fieldManager, wrote })

  return (key) =>
    Effect.gen(function* () {
      const live = ownWrites.view("Workspace", key, ctx.workspaces.get(workspaceRef(key)))
      if (live === undefined) {
        yield* cleanup(key)
        return Result.done
      }
      // Being deleted (someone's finalizer holds it): the garbage collector removes the children; do not re-create.
      if (live.metadata.deletionTimestamp !== undefined) return Result.done
      const now = formatTime(yield* Clock.currentTimeMillis)
      const previous = live.status as WorkspaceStatus | undefined
      const checked = checkWorkspace(live)
      if (!checked.ok) {
        const invalid = planInvalid(
          live,
          checked.issues,
          previous === undefined ? { now } : { now, previousStatus: previous },
        )
        yield* writeStatus(key, live, invalid.status)
        const message = checked.issues.map((i) => `${i.path}: ${i.message}`).join("; ")
        return yield* new ReconcileError({ reason: new InvalidSpec({ key, message }) })
      }
      const workspace = checked.value
      const uid = live.metadata.uid
      const observe = Effect.fn(function* (generatedPassword: string, generatedSecrets: GeneratedSecrets) {
        const children = yield* gather(workspace, key, uid)
        return observedOf({ now, generatedPassword, generatedSecrets, previousStatus: workspace.status, children })
      })

      for (let plans = 1; ; plans++) {
        // Fresh passwords are drawn for every plan; the planner uses one only for a key the Secret does not hold.
        const password = yield* Effect.sync(generatePassword)
        const secrets = yield* Effect.sync(generateSecrets)
        const observed = yield* observe(password, secrets)
        const planned = plan(workspace, observed)
        const applied = yield* apply(key, uid, planned.apply)
        if (applied.replan) {
          if (plans < maxPlans) continue
          return yield* new ReconcileError({
            reason: new ApiUnavailable({ key, message: "the database Secret keeps changing under us" }),
          })
        }
        const pruned = yield* prune(key, planned.prune)
        // The status says what the cluster looks like after this reconcile's own writes (the view holds them), so
        // that e.g. a new Workspace's first status already names the migration Job just created, instead of a
        // "pending" one that the next reconcile must correct: one status write instead of two.
        const settledPlan =
          applied.wrote || pruned.deleted ? plan(workspace, yield* observe(password, secrets)) : planned
        const settled = settledPlan.status
        const rejected = [...applied.rejected, ...pruned.rejected]
        const problem = executionProblem(rejected, applied.conflicts)
        const status = problem === undefined ? settled : withExecutionProblem(settled, problem, { now, previous })
        const statusWritten = yield* writeStatus(key, live, status)
        // A progressing Workspace is looked at again only after a reconcile that wrote: its status was planned from a
        // view its own writes may not have reached yet. One that wrote nothing waits on its children (a rollout,
        // a migration Job), whose every change is a watch event that queues it; polling it would cost a reconcile
        // per Workspace per period for as long as its pods do not start, and tell nothing new.
        const wrote = applied.wrote || pruned.deleted || statusWritten
        const progressing = wrote && conditionOf(status, "Progressing")?.status === "True"
        // When the plan changes by the clock (a failed migration's next attempt), whatever else happens meanwhile.
        const byClock =
          settledPlan.requeueAfterSeconds === undefined ? undefined : Duration.seconds(settledPlan.requeueAfterSeconds)
        if (rejected.length > 0) {
          // Only a refusal from outside the Workspace can go away without the Workspace changing.
          if (!rejected.some((r) => r.external)) {
            const first = rejected.reduce((a, b) => (b.object < a.object ? b : a))
            return yield* new ReconcileError({ reason: first })
          }
          return Result.requeueAfter(
            soonest(progressing ? ctx.progressingRequeue : undefined, ctx.rejectedRecheck, byClock) ??
              ctx.rejectedRecheck,
          )
        }
        if (applied.conflicts.length > 0) {
          const objects = [...applied.conflicts].sort()
          return yield* new ReconcileError({
            reason: new OwnershipConflict({ key, message: objects.join("; "), objects }),
          })
        }
        const next = soonest(progressing ? ctx.progressingRequeue : undefined, byClock)
        return next === undefined ? Result.done : Result.requeueAfter(next)
      }
    })
}
