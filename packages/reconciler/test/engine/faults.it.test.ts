// Sieve-style faults through the engine's documented test hooks (Faults), against the real API server:
// a crash after a write (intermediate state), a lagging cache (stale state), a lost notification (unobserved
// state), and a crashing watch stream. Each ends converged; the database password is never replaced.
import { Kinds } from "@cartographer/k8s"
import { auditedRequests, eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Deferred, Effect, Exit, Scope } from "effect"
import { Faults, type FaultsShape } from "../../src/engine/Faults.js"
import { Admin, basicChildren, condition, engineSuite, statusCurrent } from "./support.js"

const suite = engineSuite("engine-faults")
const { namespace } = suite

const noFaults: FaultsShape = { afterWrite: () => Effect.void, beforeEvent: () => Effect.succeed(true) }

const create = (name: string) => suite.apply(suite.sample("basic-workspace.yaml", name))

/** Fails until every child exists and the status reflects the current generation. */
const converged = (name: string) =>
  eventually(
    Effect.gen(function* () {
      const admin = yield* Admin
      const ws = yield* statusCurrent({ namespace, name })
      if (condition(ws, "Ready") === undefined) return yield* Effect.fail("no Ready condition yet")
      for (const [kind, child] of basicChildren(name)) yield* admin.get(kind, { namespace, name: child })
      return ws
    }),
    "90 seconds",
  )

const secretWrites = (name: string) =>
  Effect.promise(() =>
    auditedRequests({
      user: suite.identity().user,
      mutating: true,
      resource: "secrets",
      name: `${name}-environment-secrets`,
    }),
  )

suite.tests("faults", "240 seconds", (test) => {
  test("converges when every reconcile crashes after some of its writes", function* () {
    let writes = 0
    const faults: FaultsShape = {
      ...noFaults,
      // Every third write "crashes" the reconcile right after the API server accepted it.
      afterWrite: () => (++writes % 3 === 0 ? Effect.die("crash after a write") : Effect.void),
    }
    yield* suite.startEngine({ backoffCap: "1 second" }).pipe(Effect.provideService(Faults, faults))
    yield* create("crashy")
    yield* converged("crashy")
    // Every third write crashed its reconcile: six writes or more means at least two crashed reconciles were picked
    // up again (the sample's first convergence makes about eight, its status written once).
    assert.isAtLeast(writes, 6)
    const secret = yield* secretWrites("crashy")
    assert.deepStrictEqual(
      secret.map((e) => e.verb),
      ["create"],
      "the Secret was created once and never rewritten",
    )
  })

  test("a new engine finishes what a crashed one left half done, keeping its database password", function* (admin) {
    const crashed = yield* Deferred.make<void>()
    let writes = 0
    // The first engine "dies" after its 4th write: it stops dead in the middle of a reconcile.
    const dying: FaultsShape = {
      ...noFaults,
      afterWrite: () =>
        ++writes === 4 ? Deferred.succeed(crashed, undefined).pipe(Effect.andThen(Effect.never)) : Effect.void,
    }
    const first = yield* Scope.make()
    yield* suite
      .startEngine({ shutdownGrace: "10 millis" })
      .pipe(Effect.provideService(Faults, dying), Scope.provide(first))
    yield* create("resumed")
    yield* Deferred.await(crashed)
    const secret = yield* admin.get(Kinds.Secret, { namespace, name: "resumed-environment-secrets" })
    yield* Scope.close(first, Exit.void)

    yield* suite.startEngine()
    yield* converged("resumed")
    const after = yield* admin.get(Kinds.Secret, secret.metadata)
    assert.strictEqual(after.metadata.uid, secret.metadata.uid)
    assert.deepStrictEqual(after.data, secret.data)
  })

  test("never regenerates the password while its cache lags behind its own writes", function* () {
    const faults: FaultsShape = {
      ...noFaults,
      // Secret and Workspace events reach the cache 2 s late: reconciles meanwhile do not see the new Secret.
      beforeEvent: (event) =>
        (event.kind === "Secret" || event.kind === "Workspace") && event.object?.startsWith(`${namespace}/`)
          ? Effect.sleep("2 seconds").pipe(Effect.as(true))
          : Effect.succeed(true),
    }
    yield* suite.startEngine().pipe(Effect.provideService(Faults, faults))
    yield* create("lagging")
    yield* converged("lagging")
    const secret = yield* secretWrites("lagging")
    assert.deepStrictEqual(
      secret.map((e) => e.verb),
      ["create"],
    )
  })

  test("repairs a change whose notification was lost at the next resync", function* (admin) {
    const faults: FaultsShape = {
      ...noFaults,
      // The cache sees Service changes, but no reconcile is queued for them.
      beforeEvent: (event) => Effect.succeed(event.kind !== "Service"),
    }
    yield* suite.startEngine({ resyncPeriod: "3 seconds" }).pipe(Effect.provideService(Faults, faults))
    yield* create("unobserved")
    yield* converged("unobserved")
    const ref = { namespace, name: "unobserved-orion-server" }
    const before = yield* admin.get(Kinds.Service, ref)
    yield* admin.delete(Kinds.Service, ref)
    const after = yield* eventually(
      admin.get(Kinds.Service, ref).pipe(Effect.filterOrFail((s) => s.metadata.uid !== before.metadata.uid)),
      "30 seconds",
    )
    assert.notStrictEqual(after.metadata.uid, before.metadata.uid)
  })

  test("restarts a crashed watch stream with backoff while the other streams go on", function* (admin) {
    let crashes = 0
    const faults: FaultsShape = {
      ...noFaults,
      // The Deployment stream dies on the first live event after its initial sync, once.
      beforeEvent: (event) =>
        event.kind === "Deployment" && event.type === "DELETED" && crashes++ === 0
          ? Effect.die("the Deployment stream crashed")
          : Effect.succeed(true),
    }
    yield* suite.startEngine().pipe(Effect.provideService(Faults, faults))
    yield* create("streams")
    yield* converged("streams")
    const deployment = { namespace, name: "streams-agent-default" }
    const service = { namespace, name: "streams-orion-server" }
    const before = yield* admin.get(Kinds.Deployment, deployment)
    yield* admin.delete(Kinds.Deployment, deployment)
    // Meanwhile the Service stream works as ever.
    const service0 = yield* admin.get(Kinds.Service, service)
    yield* admin.delete(Kinds.Service, service)
    yield* eventually(
      admin.get(Kinds.Service, service).pipe(Effect.filterOrFail((s) => s.metadata.uid !== service0.metadata.uid)),
      "30 seconds",
    )
    // The restarted Deployment stream relists, sees the deletion it crashed on, and the Deployment comes back.
    yield* eventually(
      admin.get(Kinds.Deployment, deployment).pipe(Effect.filterOrFail((d) => d.metadata.uid !== before.metadata.uid)),
      "60 seconds",
    )
    assert.isAtLeast(crashes, 1)
  })
})
