/**
 * Running the reconcile workers only while this process leads.
 *
 * - Standby: waits for the Lease (watch caches stay warm meanwhile, so a takeover starts from a synced cache).
 * - Clean shutdown (the fiber is interrupted: SIGTERM/SIGINT): the workers are interrupted and *awaited*, i.e. they
 *   stop taking work and drain in-flight reconciles within the engine's shutdown grace; the Lease is released
 *   afterwards by the elector's finalizer, so a standby takes over within one retry period.
 * - Lost Lease: fails at once with `LeadershipLost`. The workers are told to stop but not awaited: another replica
 *   may already lead, so nothing of ours may keep writing while a drain runs; the process exits right after
 *   (controller-runtime does the same: no graceful shutdown after a lost election).
 */
import { LeaderElection } from "@cartographer/k8s"
import { Effect, Fiber } from "effect"

export const runWhileLeading = <E, R>(
  elector: LeaderElection.Elector,
  lease: string,
  workers: Effect.Effect<never, E, R>,
): Effect.Effect<never, E | LeaderElection.LeadershipLost, R> =>
  Effect.gen(function* () {
    yield* elector.acquired
    yield* Effect.logInfo("leading: starting the reconcile workers", { lease, identity: elector.identity })
    const fiber = yield* Effect.forkDetach(workers)
    const lost = elector.lost.pipe(
      Effect.andThen(Effect.fail(new LeaderElection.LeadershipLost({ identity: elector.identity, lease }))),
    )
    return yield* Effect.raceFirst(Fiber.join(fiber), lost).pipe(
      // Told to stop, not awaited (the race is already settled with the failure, so this cannot turn it into an
      // interruption).
      Effect.tapError(() => Effect.sync(() => fiber.interruptUnsafe())),
      Effect.onInterrupt(() =>
        Effect.gen(function* () {
          yield* Effect.logInfo("shutting down: draining in-flight reconciles")
          const started = Date.now()
          yield* Fiber.interrupt(fiber)
          yield* Effect.logInfo("reconcile workers stopped", { seconds: (Date.now() - started) / 1000 })
        }),
      ),
    )
  })
