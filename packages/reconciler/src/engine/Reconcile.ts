/**
 * One reconcile of one Workspace: read it and its children from the caches, plan, execute.
 *
 * Execution:
 * 1. **Apply** each planned object with server-side apply under one field manager (forced: the operator owns what it
 *    sets), but only when its desired fields do not already hold (`NoOp.ts`): a converged Workspace costs no write.
 *    Objects go in three waves that respect what refers to what (`waves`), each wave concurrently.
 *    The database Secret is the exception: while it does not exist it is *created* (POST), never applied, so that a
 *    stale view can never overwrite the password Postgres was initialised with; if the name turns out to be taken,
 *    the existing Secret is read and the Workspace planned again with it.
 *    An object controlled by another owner is never touched (`OwnershipConflict`).
 * 2. **Prune** what the plan's selectors match and the plan no longer produces (never Secrets or volumes), with the
 *    object's uid as a precondition so a re-created object of the same name is never deleted by mistake.
 * 3. **Status** through `/status`, only when it differs from the live one; an Event when `Ready` or `Degraded` flips.
 *    When the reconcile wrote anything, the status comes from a second plan over the view that holds those writes.
 *
 * A request the API server may answer better later (5xx, 429, timeouts, conflicts) ends the reconcile with a
 * retryable error (backoff). A child it refuses for good (422, 403, a missing namespace) is skipped, the rest of the
 * plan still runs, and the Workspace reports `Degraded/ApplyRejected`: retrying at once cannot help. An invalid
 * child (422) waits for the next change of the Workspace (terminal); a refusal from outside it (a namespace not
 * created yet, a quota, a policy) is looked at again after `rejectedRecheck`, so the Workspace recovers on its own
 * once an administrator fixes the cause.
 */
import { randomBytes } from "node:crypto"
import {
  type EventRecorder,
  type K8sError,
  Kinds,
  type KubeClientShape,
  type KubeObject,
  type Live,
  type ResourceKind,
} from "@cartographer/k8s"
import type { Condition, Workspace, WorkspaceStatus } from "@cartographer/schema"
import { Clock, Duration, Effect, Option } from "effect"
import { contextOf } from "../plan/context.js"
import type { ManagedKind, ManagedObject } from "../plan/kube.js"
import { labelKeys, managedBy } from "../plan/labels.js"
import { databaseName, redisName, secretName, serverName } from "../plan/names.js"
import type { Plan } from "../plan/Plan.js"
import { checkWorkspace, plan, planInvalid } from "../plan/planner.js"
import { type ExistingObject, pruneTargets } from "../plan/prune.js"
import { type ExecutionProblem, withExecutionProblem } from "../plan/status.js"
import { type Cache, slim } from "./Cache.js"
import type { FaultsShape, Write } from "./Faults.js"
import { holds, sameJson, withIntent } from "./NoOp.js"
import { type Children, controllerUidOf, jobStateOf, observedOf } from "./Observe.js"
import type { OwnWrites } from "./OwnWrites.js"
import {
  ApiUnavailable,
  type ChildRejected,
  classify,
  InvalidSpec,
  OwnershipConflict,
  ReconcileError,
  type ReconcileErrorReason,
} from "./ReconcileError.js"
import { Outcome } from "./WorkQueue.js"

/** The API kind of each kind a plan may apply. */
export const managedKinds: { readonly [K in ManagedKind]: ResourceKind<KubeObject, "ReadWrite"> } = {
  Secret: Kinds.Secret,
  PersistentVolumeClaim: Kinds.PersistentVolumeClaim,
  Service: Kinds.Service,
  StatefulSet: Kinds.StatefulSet,
  Deployment: Kinds.Deployment,
  Job: Kinds.Job,
  ServiceAccount: Kinds.ServiceAccount,
  Role: Kinds.Role,
  RoleBinding: Kinds.RoleBinding,
  NetworkPolicy: Kinds.NetworkPolicy,
}

/** Every kind a plan may apply, each watched by the engine. */
export const managedKindNames = Object.keys(managedKinds) as ReadonlyArray<ManagedKind>

export type ChildCaches = { readonly [K in ManagedKind]: Cache<KubeObject> }

export interface ReconcileContext {
  readonly client: KubeClientShape
  readonly workspaces: Cache<KubeObject>
  readonly children: ChildCaches
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

/** A fresh database password: 24 random bytes, URL-safe base64 (32 characters). */
export const generatePassword = Effect.sync(() => randomBytes(24).toString("base64url"))

const keyOf = (ref: { readonly namespace?: string | undefined; readonly name: string }) =>
  ref.namespace === undefined ? ref.name : `${ref.namespace}/${ref.name}`

const describe = (object: { readonly kind?: string | undefined; readonly metadata?: { readonly name?: string } }) =>
  `${object.kind ?? "object"} ${object.metadata?.name ?? "?"}`

const workspaceRef = (key: string) => {
  const slash = key.indexOf("/")
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) }
}

const conditionOf = (status: WorkspaceStatus | undefined, type: Condition["type"]) =>
  status?.conditions?.find((c) => c.type === type)

const maxCachedJobMessages = 1000

/**
 * When each kind is applied: the database Secret alone first (creating it may reveal an existing one, and the
 * Workspace is then planned again); then what workloads refer to (volume, Services, ServiceAccounts, Roles,
 * policies); then the workloads and the RoleBindings (a binding may only name a Role that exists). Objects of one
 * wave are applied concurrently: a new Workspace costs three round trips instead of one per object.
 */
const waveOf: { readonly [K in ManagedKind]: number } = {
  Secret: 0,
  PersistentVolumeClaim: 1,
  Service: 1,
  ServiceAccount: 1,
  Role: 1,
  NetworkPolicy: 1,
  StatefulSet: 2,
  Job: 2,
  Deployment: 2,
  RoleBinding: 2,
}

/** The plan's objects grouped by wave, each wave in plan order. */
export const waves = (objects: ReadonlyArray<ManagedObject>): ReadonlyArray<ReadonlyArray<ManagedObject>> => {
  const grouped: Array<Array<ManagedObject>> = [[], [], []]
  for (const object of objects) grouped[waveOf[object.kind]]?.push(object)
  return grouped.filter((wave) => wave.length > 0)
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

export const make = (ctx: ReconcileContext) => {
  const { client, ownWrites, faults, fieldManager } = ctx
  /** Failed migration Jobs' pod termination messages, by Job uid (read once per Job; "" when there was none). */
  const jobMessageCache = new Map<string, string>()

  const view = (kind: ManagedKind, ref: { readonly namespace: string; readonly name: string }) =>
    ownWrites.view(kind, keyOf(ref), ctx.children[kind].get(ref))

  /** A kind's objects of this Workspace: the owner index merged with our own recent writes. */
  const owned = (kind: ManagedKind, key: string): ReadonlyArray<Live<KubeObject>> => {
    const byKey = new Map<string, Live<KubeObject>>()
    for (const object of ctx.children[kind].ownedBy(key)) byKey.set(keyOf(object.metadata), object)
    for (const object of ownWrites.writtenFor(kind, key)) byKey.set(keyOf(object.metadata), object)
    const out: Array<Live<KubeObject>> = []
    for (const [objectKey, cached] of byKey) {
      const fresh = ownWrites.view(kind, objectKey, ctx.children[kind].get(cached.metadata) ?? cached)
      if (fresh !== undefined) out.push(fresh)
    }
    return out
  }

  const wrote = (write: Write) => faults.afterWrite(write)

  /** The termination message of a failed migration Job's pod, read once per Job (best effort). */
  const terminationMessage = (job: Live<KubeObject>): Effect.Effect<string | undefined> => {
    const cached = jobMessageCache.get(job.metadata.uid)
    if (cached !== undefined) return Effect.succeed(cached === "" ? undefined : cached)
    return client
      .list(Kinds.Pod, { namespace: job.metadata.namespace, labelSelector: `job-name=${job.metadata.name}` })
      .pipe(
        Effect.map((pods) => {
          const messages = pods.items.flatMap((pod) => {
            const statuses = (pod.status as { containerStatuses?: ReadonlyArray<unknown> } | undefined)
              ?.containerStatuses
            return (statuses ?? []).flatMap((s) => {
              const message = (s as { state?: { terminated?: { message?: unknown } } }).state?.terminated?.message
              return typeof message === "string" && message.trim() !== "" ? [message.trim()] : []
            })
          })
          const message = messages.at(-1) ?? ""
          if (jobMessageCache.size >= maxCachedJobMessages) jobMessageCache.clear()
          jobMessageCache.set(job.metadata.uid, message)
          return message === "" ? undefined : message
        }),
        // Diagnostics only: the Job's own Failed condition is reported either way.
        Effect.catch(() => Effect.succeed(undefined)),
      )
  }

  const gather = (workspace: Workspace, key: string, uid: string | undefined) =>
    Effect.gen(function* () {
      const names = contextOf(workspace)
      const ns = names.namespace
      const mine = (object: Live<KubeObject> | undefined) => {
        if (object === undefined) return undefined
        const controller = controllerUidOf(object)
        return controller === undefined || controller === uid ? object : undefined
      }
      const nameOf = {
        secret: secretName(names),
        database: databaseName(names),
        server: serverName(names),
        redis: redisName(names),
      }
      const jobs = owned("Job", key).filter((job) => mine(job) !== undefined)
      const jobMessages = new Map<string, string>()
      for (const job of jobs) {
        if (job.metadata.labels?.[labelKeys.component] !== "migration") continue
        if (jobStateOf(job).state !== "failed") continue
        const message = yield* terminationMessage(job)
        if (message !== undefined) jobMessages.set(job.metadata.name, message)
      }
      const children: Children = {
        secret: view("Secret", { namespace: ns, name: nameOf.secret }),
        database: mine(view("StatefulSet", { namespace: ns, name: nameOf.database })),
        server: mine(view("Deployment", { namespace: ns, name: nameOf.server })),
        redis: mine(view("Deployment", { namespace: ns, name: nameOf.redis })),
        deployments: owned("Deployment", key).filter((d) => mine(d) !== undefined),
        jobs,
        roles: owned("Role", key),
        jobMessages,
      }
      return children
    })

  /** Writes the status if it differs from the live one; records Events for `Ready`/`Degraded` flips. */
  const writeStatus = (
    key: string,
    live: Live<KubeObject>,
    previous: WorkspaceStatus | undefined,
    status: WorkspaceStatus,
  ): Effect.Effect<void, ReconcileError> =>
    Effect.gen(function* () {
      if (sameJson(status, live.status)) return
      const { namespace, name } = live.metadata
      const result = yield* client
        .applyStatus(
          Kinds.Workspace,
          {
            apiVersion: live.apiVersion,
            kind: live.kind,
            metadata: namespace === undefined ? { name } : { name, namespace },
            status,
          },
          { fieldManager },
        )
        .pipe(
          Effect.map(Option.some),
          // Deleted meanwhile: nothing to report on.
          Effect.catchReason("K8sError", "NotFound", () => Effect.succeed(Option.none<Live<KubeObject>>())),
          Effect.mapError((error) => new ReconcileError({ reason: classify(key, "status", error) })),
        )
      if (Option.isNone(result)) return
      ownWrites.recordWrite("Workspace", slim(result.value), key)
      yield* wrote({ key, verb: "status", kind: "Workspace", namespace: namespace ?? "", name })
      yield* recordTransitions(live, previous, status)
    })

  const recordTransitions = (live: Live<KubeObject>, previous: WorkspaceStatus | undefined, next: WorkspaceStatus) =>
    Effect.forEach(
      transitionEvents(previous, next),
      (event) =>
        ctx.recorder.record({
          regarding: { apiVersion: live.apiVersion, kind: live.kind, metadata: live.metadata },
          action: "Reconcile",
          ...event,
        }),
      { discard: true },
    )

  /**
   * Applies one planned object unless it already holds. `"wrote"`: it was written; `"replan"`: the Secret exists
   * after all.
   */
  const applyOne = (
    key: string,
    uid: string | undefined,
    object: ManagedObject,
    conflicts: Array<string>,
    rejected: Array<ChildRejected>,
  ): Effect.Effect<"ok" | "wrote" | "replan", ReconcileError> =>
    Effect.gen(function* () {
      const kind = managedKinds[object.kind]
      const ref = { namespace: object.metadata.namespace, name: object.metadata.name }
      const live = view(object.kind, ref)
      if (live !== undefined) {
        const controller = controllerUidOf(live)
        if (controller !== undefined && controller !== uid) {
          conflicts.push(`${describe(object)} is controlled by another owner (uid ${controller})`)
          return "ok"
        }
      }
      // The planner's object types are closed interfaces; the client takes any JSON object.
      const desired: KubeObject = { ...withIntent(object) }
      if (live !== undefined && holds(desired, live)) return "ok"
      const write: Write = { key, verb: "apply", kind: object.kind, namespace: ref.namespace, name: ref.name }
      const failed = (error: K8sError): Effect.Effect<"ok", ReconcileError> => {
        const reason = classify(key, describe(object), error)
        if (reason._tag === "ChildRejected") {
          rejected.push(reason)
          return Effect.succeed("ok")
        }
        return Effect.fail(new ReconcileError({ reason }))
      }
      if (object.kind === "Secret" && live === undefined) {
        // Create-only: the password in it must never be replaced by one generated from a stale view.
        const created = yield* client.create(kind, desired, { fieldManager }).pipe(
          Effect.map((result) => ({ result, existed: false })),
          Effect.catchReason("K8sError", "AlreadyExists", () =>
            client.get(kind, ref).pipe(Effect.map((result) => ({ result, existed: true }))),
          ),
          Effect.map(Option.some),
          Effect.catch((error: K8sError) => failed(error).pipe(Effect.as(Option.none()))),
        )
        if (Option.isNone(created)) return "ok"
        ownWrites.recordWrite(object.kind, slim(created.value.result), key)
        if (created.value.existed) return "replan"
        yield* wrote({ ...write, verb: "create" })
        return "wrote"
      }
      const applied = yield* client.apply(kind, desired, { fieldManager, force: true }).pipe(
        Effect.map(Option.some),
        Effect.catch((error: K8sError) => failed(error).pipe(Effect.as(Option.none()))),
      )
      if (Option.isNone(applied)) return "ok"
      ownWrites.recordWrite(object.kind, slim(applied.value), key)
      yield* wrote(write)
      return "wrote"
    })

  /** Deletes what the plan no longer wants; `true` when it deleted something. */
  const prune = (
    key: string,
    selectors: Plan["prune"],
    rejected: Array<ChildRejected>,
  ): Effect.Effect<boolean, ReconcileError> =>
    Effect.gen(function* () {
      let deleted = false
      const kinds = new Set(selectors.map((s) => s.kind))
      const existing: Array<ExistingObject & { readonly live: Live<KubeObject>; readonly managedKind: ManagedKind }> =
        []
      for (const managedKind of kinds) {
        for (const live of owned(managedKind, key)) {
          if (live.metadata.deletionTimestamp !== undefined) continue
          const controllerUid = controllerUidOf(live)
          existing.push({
            kind: managedKind,
            namespace: live.metadata.namespace ?? "",
            name: live.metadata.name,
            labels: live.metadata.labels ?? {},
            ...(controllerUid === undefined ? {} : { controllerUid }),
            live,
            managedKind,
          })
        }
      }
      for (const target of pruneTargets(selectors, existing)) {
        const result = yield* client
          .delete(managedKinds[target.managedKind], target.live.metadata, {
            preconditions: { uid: target.live.metadata.uid },
          })
          .pipe(
            Effect.as(true),
            // Already gone, or replaced by a new object of the same name (the uid precondition): nothing to do.
            Effect.catchReason("K8sError", "NotFound", () => Effect.succeed(false)),
            Effect.catchReason("K8sError", "Conflict", () => Effect.succeed(false)),
            Effect.catch((error: K8sError) => {
              const reason = classify(key, describe(target.live), error)
              if (reason._tag !== "ChildRejected") return Effect.fail(new ReconcileError({ reason }))
              rejected.push(reason)
              return Effect.succeed(false)
            }),
          )
        if (!result) continue
        ownWrites.recordDelete(target.managedKind, target.live)
        deleted = true
        yield* wrote({ key, verb: "delete", kind: target.kind, namespace: target.namespace, name: target.name })
      }
      return deleted
    })

  /**
   * The Workspace is gone: its children in its namespace go with it (owner references), but pool RBAC in other
   * namespaces cannot have an owner reference. Delete what carries its labels there — after confirming with the API
   * server that the Workspace really is gone (a lagging cache must never cost a live Workspace its RBAC).
   */
  const cleanup = (key: string): Effect.Effect<Outcome, ReconcileError> =>
    Effect.gen(function* () {
      const { namespace, name } = workspaceRef(key)
      const orphans = (["Role", "RoleBinding"] as const).flatMap((kind) =>
        owned(kind, key)
          .filter(
            (object) =>
              object.metadata.namespace !== namespace &&
              controllerUidOf(object) === undefined &&
              object.metadata.labels?.[labelKeys.managedBy] === managedBy &&
              object.metadata.labels?.[labelKeys.environment] === name &&
              object.metadata.labels?.[labelKeys.workspaceNamespace] === namespace,
          )
          .map((object) => ({ kind, object })),
      )
      if (orphans.length > 0) {
        const gone = yield* client.get(Kinds.Workspace, { namespace, name }).pipe(
          Effect.as(false),
          Effect.catchReason("K8sError", "NotFound", () => Effect.succeed(true)),
          Effect.mapError((error) => new ReconcileError({ reason: classify(key, "Workspace", error) })),
        )
        if (!gone) return Outcome.success
        for (const { kind, object } of orphans) {
          yield* client
            .delete(managedKinds[kind], object.metadata, { preconditions: { uid: object.metadata.uid } })
            .pipe(
              Effect.catchReason("K8sError", "NotFound", () => Effect.void),
              Effect.catchReason("K8sError", "Conflict", () => Effect.void),
              Effect.mapError((error) => new ReconcileError({ reason: classify(key, describe(object), error) })),
            )
          ownWrites.recordDelete(kind, object)
          yield* wrote({
            key,
            verb: "delete",
            kind,
            namespace: object.metadata.namespace ?? "",
            name: object.metadata.name,
          })
        }
      }
      ownWrites.forgetOwner(key)
      return Outcome.success
    })

  const problemOf = (
    rejected: ReadonlyArray<ChildRejected>,
    conflicts: ReadonlyArray<string>,
  ): ExecutionProblem | undefined =>
    rejected.length > 0
      ? {
          reason: "ApplyRejected",
          message: `The API server refused ${rejected.map((r) => `${r.object}: ${r.message}`).join("; ")}`,
        }
      : conflicts.length > 0
        ? { reason: "OwnershipConflict", message: `Not touched: ${conflicts.join("; ")}` }
        : undefined

  /** One reconcile of `key`. */
  const reconcile = (key: string): Effect.Effect<Outcome, ReconcileError> =>
    Effect.gen(function* () {
      const ref = workspaceRef(key)
      const live = ownWrites.view("Workspace", key, ctx.workspaces.get(ref))
      if (live === undefined) return yield* cleanup(key)
      // Being deleted (someone's finalizer holds it): the garbage collector removes the children; do not re-create.
      if (live.metadata.deletionTimestamp !== undefined) return Outcome.success
      const now = formatTime(yield* Clock.currentTimeMillis)
      const previous = live.status as WorkspaceStatus | undefined
      const checked = checkWorkspace(live)
      if (!checked.ok) {
        const invalid = planInvalid(
          live,
          checked.issues,
          previous === undefined ? { now } : { now, previousStatus: previous },
        )
        yield* writeStatus(key, live, previous, invalid.status)
        return Outcome.terminal(
          new ReconcileError({
            reason: new InvalidSpec({ key, message: checked.issues.map((i) => `${i.path}: ${i.message}`).join("; ") }),
          }),
        )
      }
      const workspace = checked.value
      const uid = live.metadata.uid
      for (let pass = 1; ; pass++) {
        const children = yield* gather(workspace, key, uid)
        // A password is drawn only when the Secret does not exist; it is never used otherwise.
        const password = children.secret === undefined ? yield* generatePassword : ""
        const planned = plan(
          workspace,
          observedOf({ now, generatedPassword: password, previousStatus: workspace.status, children }),
        )
        const conflicts: Array<string> = []
        const rejected: Array<ChildRejected> = []
        let replan = false
        let applied = false
        for (const wave of waves(planned.apply)) {
          const results = yield* Effect.forEach(wave, (object) => applyOne(key, uid, object, conflicts, rejected), {
            concurrency: "unbounded",
          })
          applied ||= results.includes("wrote")
          if (results.includes("replan")) {
            replan = true
            break
          }
        }
        if (replan && pass < 3) continue
        if (replan) {
          return Outcome.error(
            new ReconcileError({
              reason: new ApiUnavailable({ key, message: "the database Secret keeps changing under us" }),
            }),
          )
        }
        const pruned = yield* prune(key, planned.prune, rejected)
        // The status says what the cluster looks like after this reconcile's own writes (the view holds them), so
        // that e.g. a new Workspace's first status already names the migration Job just created, instead of a
        // "pending" one that the next reconcile must correct: one status write instead of two.
        const settled =
          applied || pruned
            ? plan(
                workspace,
                observedOf({
                  now,
                  generatedPassword: password,
                  previousStatus: workspace.status,
                  children: yield* gather(workspace, key, uid),
                }),
              ).status
            : planned.status
        const problem = problemOf(rejected, conflicts)
        const status = problem === undefined ? settled : withExecutionProblem(settled, problem, { now, previous })
        yield* writeStatus(key, live, previous, status)
        const progressing = conditionOf(status, "Progressing")?.status === "True"
        if (rejected.length > 0) {
          if (!rejected.some((r) => r.external))
            return Outcome.terminal(new ReconcileError({ reason: rejected[0] as ReconcileErrorReason }))
          return Outcome.requeueAfter(
            progressing ? Duration.min(ctx.progressingRequeue, ctx.rejectedRecheck) : ctx.rejectedRecheck,
          )
        }
        if (conflicts.length > 0) {
          return Outcome.error(
            new ReconcileError({
              reason: new OwnershipConflict({ key, message: conflicts.join("; "), objects: conflicts }),
            }),
          )
        }
        return progressing ? Outcome.requeueAfter(ctx.progressingRequeue) : Outcome.success
      }
    })

  return reconcile
}
