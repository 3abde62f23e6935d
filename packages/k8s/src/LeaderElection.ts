/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's algorithm and controller-runtime's
 * defaults (lease 15 s, renew deadline 10 s, retry period 2 s):
 *
 * - A candidate reads the Lease every retry period (×[1, 1.2) jitter) and takes it when it is free (no holder)
 *   or when its record has not changed for `leaseDurationSeconds` as measured on the candidate's own clock from
 *   the moment it observed that record (so clock skew between machines does not matter, only clock rates).
 *   Every write is a create or an update guarded by resourceVersion: of two racing candidates, one gets 409.
 * - The leader renews every retry period. If no renewal succeeds for `renewDeadline`, or the Lease is seen held
 *   by someone else, leadership is lost: `isLeader` turns false and `lost` completes at once. Since
 *   renewDeadline < leaseDuration, the old leader stops believing it leads before any candidate may take over.
 * - After a loss the elector stops (controller-runtime's model: the process exits and restarts as a candidate).
 * - When the scope closes while leading (clean shutdown), the Lease is released — holder cleared,
 *   `leaseDurationSeconds: 1` — so a standby takes over within one retry period instead of a full lease.
 *
 * Times are written as `MicroTime` (RFC 3339, microseconds). There is no fencing: as in client-go, correctness
 * relies on clocks running at similar rates.
 */
import { hostname } from "node:os"
import {
  Clock,
  Deferred,
  Duration,
  Effect,
  Fiber,
  Option,
  Random,
  Schema,
  type Scope,
  type Stream,
  SubscriptionRef,
} from "effect"
import { nowMicroTime } from "./internal/microTime.js"
import type { K8sError } from "./K8sError.js"
import { Kinds } from "./Kinds.js"
import { KubeClient } from "./KubeClient.js"
import type { Lease, Live } from "./KubeObject.js"

/** controller-runtime's defaults, each stated once: the operator's flags default to them. */
export const defaults = {
  /** How long a lease is valid without renewal. */
  leaseDuration: Duration.seconds(15),
  /** How long the leader keeps trying to renew before giving up. */
  renewDeadline: Duration.seconds(10),
  /** Interval between attempts to acquire or renew. */
  retryPeriod: Duration.seconds(2),
  fieldManager: "cartographer-leader-election",
} as const

/** The timings of an election, validated together (`leaseDuration > renewDeadline > 1.2 × retryPeriod`). */
export interface LeaderElectionTimings {
  /** How long a lease is valid without renewal. Default `defaults.leaseDuration` (15 seconds). */
  readonly leaseDuration?: Duration.Input | undefined
  /** How long the leader keeps trying to renew before giving up. Default `defaults.renewDeadline` (10 seconds). */
  readonly renewDeadline?: Duration.Input | undefined
  /** Interval between attempts to acquire or renew. Default `defaults.retryPeriod` (2 seconds). */
  readonly retryPeriod?: Duration.Input | undefined
}

export interface LeaderElectionOptions extends LeaderElectionTimings {
  readonly namespace: string
  /** Lease name. */
  readonly name: string
  /** This candidate's identity. Default `<hostname>_<uuid>` (controller-runtime). */
  readonly identity?: string | undefined
  /** Release the Lease when the scope closes while leading. Default `true`. */
  readonly releaseOnShutdown?: boolean | undefined
  /** Field manager of Lease writes. Default `"cartographer-leader-election"`. */
  readonly fieldManager?: string | undefined
}

/** The timings violate `leaseDuration > renewDeadline > 1.2 × retryPeriod` (client-go's validation). */
export class InvalidLeaderElectionOptions extends Schema.TaggedError<InvalidLeaderElectionOptions>(
  "@cartographer/k8s/InvalidLeaderElectionOptions",
)("InvalidLeaderElectionOptions", { message: Schema.String }) {}

/** Leadership was lost (renew deadline passed or another holder took the Lease). */
export class LeadershipLost extends Schema.TaggedError<LeadershipLost>("@cartographer/k8s/LeadershipLost")(
  "LeadershipLost",
  { identity: Schema.String, lease: Schema.String },
) {}

export interface Elector {
  readonly identity: string
  /** Whether this process holds the Lease right now. */
  readonly isLeader: Effect.Effect<boolean>
  /** The current value, then every change. */
  readonly changes: Stream.Stream<boolean>
  /** Completes when leadership is acquired. */
  readonly acquired: Effect.Effect<void>
  /** Completes when leadership, once held, is lost. Never completes on a clean shutdown. */
  readonly lost: Effect.Effect<void>
  /**
   * Waits for leadership, then runs `effect` until it ends or leadership is lost:
   *
   * - Lost: fails at once with `LeadershipLost`. `effect` is told to stop but not awaited: another candidate may
   *   already lead, so nothing may keep writing while it winds down; the caller exits (controller-runtime does the
   *   same: no graceful shutdown after a lost election).
   * - Interrupted (clean shutdown): `effect` is interrupted and awaited, so it can drain; the Lease is released
   *   afterwards by the elector's scope.
   */
  readonly whileLeader: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LeadershipLost, R>
}

type Attempt = "Leading" | "HeldByOther" | "Raced"

const seconds = (input: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(input)) / 1000

/** Starts a candidate in the current scope. */
export const make = (
  options: LeaderElectionOptions,
): Effect.Effect<Elector, InvalidLeaderElectionOptions, KubeClient | Scope.Scope> =>
  Effect.gen(function* () {
    const leaseDuration = seconds(options.leaseDuration ?? defaults.leaseDuration)
    const renewDeadline = seconds(options.renewDeadline ?? defaults.renewDeadline)
    const retryPeriod = seconds(options.retryPeriod ?? defaults.retryPeriod)
    if (!(leaseDuration > renewDeadline && renewDeadline > 1.2 * retryPeriod && retryPeriod > 0)) {
      return yield* new InvalidLeaderElectionOptions({
        message: `need leaseDuration (${leaseDuration}s) > renewDeadline (${renewDeadline}s) > 1.2 × retryPeriod (${retryPeriod}s)`,
      })
    }
    const client = yield* KubeClient
    const identity = options.identity ?? `${hostname()}_${crypto.randomUUID()}`
    const fieldManager = options.fieldManager ?? defaults.fieldManager
    const ref = { namespace: options.namespace, name: options.name }
    const leaseName = `${options.namespace}/${options.name}`
    const log = { lease: leaseName, identity }

    const leader = yield* SubscriptionRef.make(false)
    const acquired = yield* Deferred.make<void>()
    const lost = yield* Deferred.make<void>()

    /** The last Lease version seen and when (local clock): the expiry clock of someone else's lease. */
    let observedVersion: string | undefined
    let observedAt = 0
    let holding = false

    const observe = (lease: Live<Lease>, now: number) => {
      if (lease.metadata.resourceVersion !== observedVersion) {
        observedVersion = lease.metadata.resourceVersion
        observedAt = now
      }
    }

    const stripped = (lease: Live<Lease>): Lease => {
      const { managedFields: _managedFields, ...metadata } = lease.metadata
      return { ...lease, metadata }
    }

    /** A write making this candidate the holder: `Leading`, or `Raced` when another candidate wrote first. */
    const take = (write: Effect.Effect<Live<Lease>, K8sError>, raced: "AlreadyExists" | "Conflict", now: number) =>
      write.pipe(
        Effect.map((lease): Attempt => {
          observe(lease, now)
          return "Leading"
        }),
        Effect.catchReason("K8sError", raced, () => Effect.succeed<Attempt>("Raced")),
      )

    const tryAcquireOrRenew: Effect.Effect<Attempt, K8sError> = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const time = yield* nowMicroTime
      const current = yield* client.get(Kinds.Lease, ref).pipe(
        Effect.map(Option.some),
        Effect.catchReason("K8sError", "NotFound", () => Effect.succeed(Option.none<Live<Lease>>())),
      )
      const held = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(leaseDuration), renewTime: time }
      if (Option.isNone(current)) {
        const lease = { metadata: ref, spec: { ...held, acquireTime: time, leaseTransitions: 0 } }
        return yield* take(client.create(Kinds.Lease, lease, { fieldManager }), "AlreadyExists", now)
      }
      const lease = current.value
      observe(lease, now)
      const spec = lease.spec ?? {}
      const holder = spec.holderIdentity ?? ""
      const validFor = (spec.leaseDurationSeconds ?? leaseDuration) * 1000
      if (holder !== "" && holder !== identity && now < observedAt + validFor) return "HeldByOther"
      const renewing = holder === identity
      const transitions = spec.leaseTransitions ?? 0
      const renewed = {
        ...stripped(lease),
        spec: {
          ...spec,
          ...held,
          acquireTime: renewing ? (spec.acquireTime ?? time) : time,
          leaseTransitions: renewing ? transitions : transitions + 1,
        },
      }
      return yield* take(client.replace(Kinds.Lease, renewed, { fieldManager }), "Conflict", now)
    })

    const attempt = tryAcquireOrRenew.pipe(
      Effect.catch((error) =>
        Effect.logWarning("lease acquire/renew failed", { ...log, error: error.message }).pipe(
          Effect.as("Raced" as const),
        ),
      ),
    )

    const acquire = Effect.gen(function* () {
      while (true) {
        const start = yield* Clock.currentTimeMillis
        if ((yield* attempt) === "Leading") return start
        const jitter = yield* Random.nextBetween(1, 1.2)
        yield* Effect.sleep(Duration.seconds(retryPeriod * jitter))
      }
    })

    /** Renews until the deadline passes or someone else holds the Lease; returns why it stopped. */
    const renew = (acquiredAt: number) =>
      Effect.gen(function* () {
        let lastRenew = acquiredAt
        while (true) {
          yield* Effect.sleep(Duration.seconds(retryPeriod))
          const start = yield* Clock.currentTimeMillis
          const remaining = lastRenew + renewDeadline * 1000 - start
          if (remaining <= 0) return "renew deadline passed"
          const outcome = yield* attempt.pipe(Effect.timeoutOption(Duration.millis(remaining)))
          if (Option.isSome(outcome) && outcome.value === "Leading") lastRenew = start
          else if (Option.isSome(outcome) && outcome.value === "HeldByOther") return "lease held by another candidate"
          else if ((yield* Clock.currentTimeMillis) >= lastRenew + renewDeadline * 1000) return "renew deadline passed"
        }
      })

    const release = Effect.gen(function* () {
      const lease = yield* client.get(Kinds.Lease, ref)
      if (lease.spec?.holderIdentity !== identity) return
      const time = yield* nowMicroTime
      const { holderIdentity: _holder, ...spec } = lease.spec
      yield* client.replace(
        Kinds.Lease,
        { ...stripped(lease), spec: { ...spec, leaseDurationSeconds: 1, acquireTime: time, renewTime: time } },
        { fieldManager },
      )
    }).pipe(
      Effect.retry({ times: 3, while: (error) => error.reason._tag === "Conflict" }),
      Effect.timeoutOption(Duration.seconds(renewDeadline)),
      Effect.flatMap((done) =>
        Option.isSome(done)
          ? Effect.logInfo("released the lease", log)
          : Effect.logWarning("releasing the lease timed out", log),
      ),
      Effect.catch((error) => Effect.logWarning("could not release the lease", { ...log, error: error.message })),
    )

    // Finalizers run in reverse order: the election fiber is interrupted (leadership dropped) before the release.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => (holding && options.releaseOnShutdown !== false ? release : Effect.void)),
    )

    const elect = Effect.gen(function* () {
      const acquiredAt = yield* acquire
      holding = true
      yield* SubscriptionRef.set(leader, true)
      yield* Deferred.succeed(acquired, undefined)
      yield* Effect.logInfo("became leader", log)
      const why = yield* renew(acquiredAt)
      holding = false
      yield* SubscriptionRef.set(leader, false)
      yield* Deferred.succeed(lost, undefined)
      yield* Effect.logError("lost leadership", { ...log, reason: why })
    }).pipe(Effect.onInterrupt(() => SubscriptionRef.set(leader, false)))

    yield* Effect.forkScoped(elect)

    const whileLeader = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | LeadershipLost, R> =>
      Effect.gen(function* () {
        yield* Deferred.await(acquired)
        const fiber = yield* Effect.forkDetach(effect)
        const loss = Deferred.await(lost).pipe(
          Effect.andThen(Effect.fail(new LeadershipLost({ identity, lease: leaseName }))),
        )
        return yield* Effect.raceFirst(Fiber.join(fiber), loss).pipe(
          // Told to stop, not awaited (the race is already settled with the failure).
          Effect.tapError(() => Effect.sync(() => fiber.interruptUnsafe())),
          Effect.onInterrupt(() => Fiber.interrupt(fiber)),
        )
      })

    return {
      identity,
      isLeader: SubscriptionRef.get(leader),
      changes: SubscriptionRef.changes(leader),
      acquired: Deferred.await(acquired),
      lost: Deferred.await(lost),
      whileLeader,
    } satisfies Elector
  })
