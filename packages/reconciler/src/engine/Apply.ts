/**
 * Executing a plan's applies. Each planned object is applied with server-side apply under one field manager
 * (forced: the operator owns what it sets), but only when its desired fields do not already hold (`NoOp.ts`): a
 * converged Workspace costs no write. Objects go in three waves that respect what refers to what (`waves`), each
 * wave concurrently.
 *
 * The database Secret is the exception: while it does not exist it is *created* (POST), never applied, so that a
 * stale view can never overwrite the password Postgres was initialised with; if the name turns out to be taken, the
 * report says to plan again with the existing Secret. An object controlled by another owner is never touched.
 *
 * What happened comes back as a value, an `ApplyReport`. Only a failure the API server may answer better later
 * (`ApiUnavailable`) ends the execution; a child it refuses for good is skipped and reported.
 */
import type { K8sError, KubeClientShape, KubeObject, Live } from "@cartographer/k8s"
import { Effect } from "effect"
import type { ManagedKind, ManagedObject } from "../plan/kube.js"
import { slim } from "./Cache.js"
import type { Write } from "./Faults.js"
import type { View } from "./Gather.js"
import { describeObject, managedKinds, optionalKinds } from "./ManagedKinds.js"
import { holds, withIntent } from "./NoOp.js"
import { controllerUidOf } from "./Observe.js"
import type { OwnWrites } from "./OwnWrites.js"
import { ChildRejected, classify, ReconcileError } from "./ReconcileError.js"

/** What applying a plan did. */
export interface ApplyReport {
  /** Something was written: the status must be planned again from the view that holds the writes. */
  readonly wrote: boolean
  /** The database Secret exists after all: plan again with it (nothing after its wave was applied). */
  readonly replan: boolean
  /** Objects not touched because another owner controls them, one sentence each. */
  readonly conflicts: ReadonlyArray<string>
  /** Objects the API server refused for good. */
  readonly rejected: ReadonlyArray<ChildRejected>
}

/** What applying one object did. */
type Applied =
  | { readonly _tag: "Holds" | "Wrote" | "SecretExists" }
  | { readonly _tag: "Conflict"; readonly message: string }
  | { readonly _tag: "Rejected"; readonly reason: ChildRejected }

/**
 * When each kind is applied: the database Secret alone first (creating it may reveal an existing one, and the
 * Workspace is then planned again); then what workloads refer to (volume, Services, ServiceAccounts, Roles,
 * policies, disruption budgets); then the workloads, the RoleBindings (a binding may only name a Role that exists) and
 * the routes to the server's Service (Ingress, HTTPRoute). Objects of one
 * wave are applied concurrently: a new Workspace costs three round trips instead of one per object.
 */
const waveOf: { readonly [K in ManagedKind]: number } = {
  Secret: 0,
  PersistentVolumeClaim: 1,
  Service: 1,
  ServiceAccount: 1,
  Role: 1,
  NetworkPolicy: 1,
  PodDisruptionBudget: 1,
  StatefulSet: 2,
  Job: 2,
  CronJob: 2,
  Deployment: 2,
  RoleBinding: 2,
  Ingress: 2,
  HTTPRoute: 2,
}

/**
 * Whether applying `object` adds keys to an existing Secret: a credential generated from this reconcile's view. If
 * that view is stale (a new leader whose cache has not seen its predecessor's last write), the key may exist by now
 * with another value, and a forced apply would rotate it.
 */
const addsSecretKeys = (object: ManagedObject, live: Live<KubeObject>): boolean => {
  if (object.kind !== "Secret") return false
  const liveData = (live as { readonly data?: Readonly<Record<string, unknown>> }).data ?? {}
  return Object.keys(object.data).some((key) => !(key in liveData))
}

/**
 * The object with the live object's resourceVersion as a precondition: the API server refuses the apply (409
 * Conflict, retried after a fresher read) if the object changed since. Not part of the intent.
 */
const atVersion = (desired: KubeObject, live: Live<KubeObject>): KubeObject => ({
  ...desired,
  metadata: { ...desired.metadata, resourceVersion: live.metadata.resourceVersion },
})

/** The plan's objects grouped by wave, each wave in plan order. */
export const waves = (objects: ReadonlyArray<ManagedObject>): ReadonlyArray<ReadonlyArray<ManagedObject>> => {
  const grouped: Array<Array<ManagedObject>> = [[], [], []]
  for (const object of objects) grouped[waveOf[object.kind]]?.push(object)
  return grouped.filter((wave) => wave.length > 0)
}

export interface ApplyContext {
  readonly client: KubeClientShape
  readonly view: View
  readonly ownWrites: OwnWrites
  readonly fieldManager: string
  /** Runs after each accepted write (the engine's fault hook). */
  readonly wrote: (write: Write) => Effect.Effect<void>
}

/** `apply(key, uid, objects)`: applies a plan's objects for the Workspace `key` (whose uid is `uid`). */
export const makeApply = (ctx: ApplyContext) => {
  const { client, ownWrites, fieldManager } = ctx

  const applyOne = (
    key: string,
    uid: string | undefined,
    object: ManagedObject,
  ): Effect.Effect<Applied, ReconcileError> =>
    Effect.gen(function* () {
      const kind = managedKinds[object.kind]
      const ref = { namespace: object.metadata.namespace, name: object.metadata.name }
      const live = ctx.view.get(object.kind, ref)
      const controller = live === undefined ? undefined : controllerUidOf(live)
      if (controller !== undefined && controller !== uid) {
        return {
          _tag: "Conflict",
          message: `${describeObject(object)} is controlled by another owner (uid ${controller})`,
        } as const
      }
      // The planner's object types are closed interfaces; the client takes any JSON object.
      const desired: KubeObject = { ...withIntent(object) }
      if (live !== undefined && holds(desired, live)) return { _tag: "Holds" } as const
      const refused = (error: K8sError): Effect.Effect<Applied, ReconcileError> => {
        const notServed = optionalKinds[object.kind]
        // The object's namespace is the Workspace's, which exists: a 404 here means the kind is not served.
        if (notServed !== undefined && error.reason._tag === "NotFound")
          return Effect.succeed({
            _tag: "Rejected",
            reason: new ChildRejected({ key, object: describeObject(object), message: notServed, external: true }),
          })
        const reason = classify(key, describeObject(object), error)
        return reason._tag === "ChildRejected"
          ? Effect.succeed({ _tag: "Rejected", reason })
          : Effect.fail(new ReconcileError({ reason }))
      }
      const accepted = (written: Live<KubeObject>, verb: Write["verb"]) =>
        Effect.gen(function* () {
          ownWrites.recordWrite(object.kind, slim(written), key)
          yield* ctx.wrote({ key, verb, kind: object.kind, namespace: ref.namespace, name: ref.name })
          return { _tag: "Wrote" } as const
        })
      if (object.kind === "Secret" && live === undefined) {
        // Create-only: the password in it must never be replaced by one generated from a stale view.
        return yield* client.create(kind, desired, { fieldManager }).pipe(
          Effect.flatMap((created) => accepted(created, "create")),
          Effect.catchReason("K8sError", "AlreadyExists", () =>
            client.get(kind, ref).pipe(
              Effect.map((existing): Applied => {
                ownWrites.recordWrite(object.kind, slim(existing), key)
                return { _tag: "SecretExists" }
              }),
            ),
          ),
          Effect.catch(refused),
        )
      }
      return yield* client
        .apply(kind, live !== undefined && addsSecretKeys(object, live) ? atVersion(desired, live) : desired, {
          fieldManager,
          force: true,
        })
        .pipe(
          Effect.flatMap((applied) => accepted(applied, "apply")),
          Effect.catch(refused),
        )
    })

  return (
    key: string,
    uid: string | undefined,
    objects: ReadonlyArray<ManagedObject>,
  ): Effect.Effect<ApplyReport, ReconcileError> =>
    Effect.gen(function* () {
      const all: Array<Applied> = []
      for (const wave of waves(objects)) {
        const results = yield* Effect.forEach(wave, (object) => applyOne(key, uid, object), {
          concurrency: "unbounded",
        })
        all.push(...results)
        if (results.some((r) => r._tag === "SecretExists")) break
      }
      return {
        wrote: all.some((r) => r._tag === "Wrote"),
        replan: all.some((r) => r._tag === "SecretExists"),
        conflicts: all.flatMap((r) => (r._tag === "Conflict" ? [r.message] : [])),
        rejected: all.flatMap((r) => (r._tag === "Rejected" ? [r.reason] : [])),
      }
    })
}
