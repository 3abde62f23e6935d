// Lease leader election against the run's real kube-apiserver: mutual exclusion, takeover after a crash and after
// a clean release, and the lost-lease signal.
import { useNamespace } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Clock, Deferred, Effect, Exit, Fiber, Ref, Scope } from "effect"
import { Kinds, LeaderElection } from "../src/index.js"
import { sharedClientSuite } from "./support.js"

const namespace = useNamespace("k8s-leader")

const fast = { leaseDuration: "3 seconds", renewDeadline: "2 seconds", retryPeriod: "500 millis" } as const

/** A candidate in a scope of its own: closing the scope is a clean shutdown (or a crash if release is off). */
const candidate = (options: LeaderElection.LeaderElectionOptions) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const elector = yield* LeaderElection.make(options).pipe(Scope.provide(scope))
    return { elector, stop: Scope.close(scope, Exit.void) }
  })

const microTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/u

sharedClientSuite("Leader election on a real API server", "120 seconds", (test) => {
  test("two contenders never both lead, and after the leader dies the other takes over", function* () {
    const lease = { namespace, name: "mutex", ...fast, releaseOnShutdown: false }
    const a = yield* candidate({ ...lease, identity: "a" })
    const b = yield* candidate({ ...lease, identity: "b" })
    const samples = yield* Ref.make({ both: 0, none: 0, total: 0 })
    const sample = Effect.gen(function* () {
      const [la, lb] = [yield* a.elector.isLeader, yield* b.elector.isLeader]
      yield* Ref.update(samples, (s) => ({
        both: s.both + (la && lb ? 1 : 0),
        none: s.none + (!la && !lb ? 1 : 0),
        total: s.total + 1,
      }))
    })
    const sampler = yield* Effect.forever(sample.pipe(Effect.andThen(Effect.sleep("20 millis")))).pipe(Effect.forkChild)

    yield* Effect.raceFirst(a.elector.acquired, b.elector.acquired)
    yield* Effect.sleep("4 seconds")
    const first = (yield* a.elector.isLeader) ? a : b
    const second = first === a ? b : a
    assert.isTrue(yield* first.elector.isLeader)
    assert.isFalse(yield* second.elector.isLeader)

    yield* first.stop // a crash: no release
    yield* second.elector.acquired.pipe(Effect.timeout("10 seconds"))
    yield* Effect.sleep("2 seconds")
    yield* Fiber.interrupt(sampler)
    yield* second.stop
    const { both, total } = yield* Ref.get(samples)
    assert.isAbove(total, 200)
    assert.strictEqual(both, 0, "never two leaders at once")
  })

  test("replaces a killed leader within lease duration + retry period (15 s + 2 s defaults)", function* () {
    const lease = { namespace, name: "killed", releaseOnShutdown: false }
    const a = yield* candidate({ ...lease, identity: "a" })
    yield* a.elector.acquired.pipe(Effect.timeout("10 seconds"))
    const b = yield* candidate({ ...lease, identity: "b" })
    yield* Effect.sleep("3 seconds")
    assert.isFalse(yield* b.elector.isLeader, "the standby waits while the leader renews")
    const killedAt = yield* Clock.currentTimeMillis
    yield* a.stop
    yield* b.elector.acquired.pipe(Effect.timeout("30 seconds"))
    const takeover = ((yield* Clock.currentTimeMillis) - killedAt) / 1000
    // Expiry is measured from the standby's last observation of a renewal (at most one retry period before the
    // kill), and the standby polls every 2–2.4 s: 15 − 2.4 ≤ takeover ≤ 15 + 2.4 (+ request latency).
    assert.isAtMost(takeover, 15 + 2.4 + 1, `took over after ${takeover} s`)
    assert.isAtLeast(takeover, 15 - 2.4 - 1, `did not wait for the lease to expire (${takeover} s)`)
    yield* b.stop
  })

  test("takes over a released lease in about two seconds, with MicroTime timestamps", function* (client) {
    const lease = { namespace, name: "released" }
    const a = yield* candidate({ ...lease, identity: "a" })
    yield* a.elector.acquired.pipe(Effect.timeout("10 seconds"))
    const held = yield* client.get(Kinds.Lease, { namespace, name: "released" })
    assert.strictEqual(held.spec?.holderIdentity, "a")
    assert.strictEqual(held.spec?.leaseDurationSeconds, 15)
    assert.match(held.spec?.renewTime ?? "", microTime)
    assert.match(held.spec?.acquireTime ?? "", microTime)

    const b = yield* candidate({ ...lease, identity: "b" })
    yield* Effect.sleep("3 seconds")
    const releasedAt = yield* Clock.currentTimeMillis
    yield* a.stop // clean shutdown: releases
    yield* b.elector.acquired.pipe(Effect.timeout("10 seconds"))
    const takeover = ((yield* Clock.currentTimeMillis) - releasedAt) / 1000
    assert.isAtMost(takeover, 2.4 + 1, `took over after ${takeover} s`)
    const taken = yield* client.get(Kinds.Lease, { namespace, name: "released" })
    assert.strictEqual(taken.spec?.holderIdentity, "b")
    assert.strictEqual(taken.spec?.leaseTransitions, (held.spec?.leaseTransitions ?? 0) + 1)
    yield* b.stop
    const after = yield* client.get(Kinds.Lease, { namespace, name: "released" })
    assert.isUndefined(after.spec?.holderIdentity, "released on shutdown")
    assert.strictEqual(after.spec?.leaseDurationSeconds, 1)
  })

  test("signals a lost lease at once and interrupts the work done while leading", function* (client) {
    const a = yield* candidate({ namespace, name: "stolen", identity: "a", ...fast })
    const interrupted = yield* Deferred.make<void>()
    const work = yield* a.elector
      .whileLeader(Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))))
      .pipe(Effect.flip, Effect.forkChild)
    yield* a.elector.acquired.pipe(Effect.timeout("10 seconds"))
    // Someone else writes the Lease (as a partitioned-away leader would find on its return).
    const lease = yield* client.get(Kinds.Lease, { namespace, name: "stolen" })
    const { managedFields: _, ...metadata } = lease.metadata
    yield* client.replace(Kinds.Lease, {
      ...lease,
      metadata,
      spec: { ...lease.spec, holderIdentity: "intruder" },
    })
    const stolenAt = yield* Clock.currentTimeMillis
    yield* a.elector.lost.pipe(Effect.timeout("5 seconds"))
    const noticed = ((yield* Clock.currentTimeMillis) - stolenAt) / 1000
    assert.isAtMost(noticed, 0.5 + 1, `noticed after ${noticed} s (one retry period)`)
    assert.isFalse(yield* a.elector.isLeader)
    const error = yield* Fiber.join(work)
    assert.strictEqual(error._tag, "LeadershipLost")
    yield* Deferred.await(interrupted).pipe(Effect.timeout("1 second"))
    yield* a.stop
    const after = yield* client.get(Kinds.Lease, { namespace, name: "stolen" })
    assert.strictEqual(after.spec?.holderIdentity, "intruder", "a lost leader does not release someone else's lease")
  })

  test("rejects timings that would let two leaders overlap", function* () {
    const error = yield* Effect.flip(
      LeaderElection.make({ namespace, name: "bad", leaseDuration: "5 seconds", renewDeadline: "6 seconds" }),
    )
    assert.strictEqual(error._tag, "InvalidLeaderElectionOptions")
  })
})
