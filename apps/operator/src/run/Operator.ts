/**
 * The operator process, wired in layers: configuration → logger → Kubernetes client (`@cartographer/k8s`) → engine
 * (`@cartographer/reconciler`) → probes, metrics and leader election.
 *
 * Order of start: the probe and metrics servers (so that `/healthz` answers while the caches fill), the engine's
 * watches, the leader-election candidate; once the caches are synced (`/readyz` turns 200) and the Lease is held,
 * the reconcile workers. Shutdown runs the other way round: workers drained, Lease released, watches stopped,
 * servers closed, client closed.
 */
import { randomUUID } from "node:crypto"
import { Kinds, KubeClient, LeaderElection } from "@cartographer/k8s"
import { Engine, managedKindNames } from "@cartographer/reconciler"
import { Cause, Duration, Effect, type Runtime, Schema, Stream } from "effect"
import * as Logging from "./Logging.js"
import * as Metrics from "./Metrics.js"
import * as Probes from "./Probes.js"
import type { RunConfig } from "./RunConfig.js"

/** The watch caches did not sync within `--cache-sync-timeout`. */
export class CacheSyncTimeout extends Schema.TaggedError<CacheSyncTimeout>("@cartographer/operator/CacheSyncTimeout")(
  "CacheSyncTimeout",
  { seconds: Schema.Number },
) {
  override get message(): string {
    return `the watch caches did not sync within ${this.seconds}s (API server unreachable, or RBAC denies list/watch?)`
  }
}

const seconds = (d: Duration.Duration) => Duration.toMillis(d) / 1000

/** The operator, until interrupted (clean shutdown) or a fatal error. */
export const operator = (config: RunConfig) =>
  Effect.gen(function* () {
    const started = Date.now()
    const leaseName = config.leaderElect ? config.leaderElectionId : undefined
    const metrics = Metrics.make({
      concurrency: config.concurrency,
      leaseName,
      watchedKinds: [Kinds.Workspace.kind, ...managedKindNames],
    })
    yield* Effect.logInfo("starting", {
      namespaces: config.namespaces.length === 0 ? "all" : config.namespaces.join(","),
      concurrency: config.concurrency,
      leaderElection: config.leaderElect ? `${config.leaderElectionNamespace}/${config.leaderElectionId}` : "disabled",
    })

    // The per-reconcile log line is written from the engine's synchronous callback with this fiber's services
    // (logger, level), so that it goes through the same logger as everything else.
    const services = yield* Effect.context<never>()
    const logSync = Effect.runSyncWith(services)
    const observer: Engine.EngineObserver = {
      reconciled: ({ key, result, seconds }) => {
        metrics.reconciled(result, seconds)
        const fields = { key, result, seconds: Math.round(seconds * 1e6) / 1e6 }
        // Info even for errors: the engine logs each failure with its cause as a warning of its own.
        logSync(Effect.logInfo("reconciled", fields))
      },
      queue: (event) => {
        if (event.type === "depth") metrics.queueDepth(event.depth)
        else if (event.type === "add") metrics.queueAdd()
        else metrics.queueRetry()
      },
    }

    let readiness: Effect.Effect<boolean> = Effect.succeed(false)
    if (config.healthProbeBindAddress !== undefined) {
      yield* Probes.serve(
        "health probes",
        config.healthProbeBindAddress,
        Probes.probeRoutes(Effect.suspend(() => readiness)),
      )
    }
    if (config.metricsBindAddress !== undefined) {
      yield* Probes.serve("metrics", config.metricsBindAddress, Probes.metricsRoutes(metrics))
    }

    // Options not set here keep the engine's stated defaults (Engine.defaults).
    const engine = yield* Engine.make({
      ...(config.namespaces.length === 0 ? {} : { namespaces: config.namespaces }),
      concurrency: config.concurrency,
      resyncPeriod: config.resyncPeriod,
      shutdownGrace: config.shutdownGrace,
      identity: config.identity,
      observer,
    })
    readiness = engine.isSynced

    const elector = config.leaderElect
      ? yield* LeaderElection.make({
          namespace: config.leaderElectionNamespace,
          name: config.leaderElectionId,
          identity: `${config.identity}_${randomUUID()}`,
          leaseDuration: config.leaseDuration,
          renewDeadline: config.renewDeadline,
          retryPeriod: config.retryPeriod,
          releaseOnShutdown: true,
        })
      : undefined
    if (elector !== undefined) {
      yield* Effect.forkScoped(
        Stream.runForEach(elector.changes, (leading) => Effect.sync(() => metrics.leader(leading))),
      )
    }

    const synced = yield* engine.synced.pipe(Effect.timeoutOption(config.cacheSyncTimeout))
    if (synced._tag === "None") return yield* new CacheSyncTimeout({ seconds: seconds(config.cacheSyncTimeout) })
    yield* Effect.logInfo("caches synced", { seconds: (Date.now() - started) / 1000 })

    // Interruption (SIGTERM) reaches the workers; they drain before this completes.
    const workers = engine.run.pipe(Effect.onInterrupt(() => Effect.logInfo("reconcile workers stopped")))
    if (elector === undefined) {
      yield* Effect.logInfo("starting the reconcile workers (leader election disabled)")
      return yield* workers
    }
    yield* elector.acquired
    yield* Effect.logInfo("leading: starting the reconcile workers", {
      lease: `${config.leaderElectionNamespace}/${config.leaderElectionId}`,
      identity: elector.identity,
    })
    return yield* elector.whileLeader(workers)
  })

/** Exit codes: 0 clean shutdown, 1 fatal error, 2 usage/configuration error. */
export const exitCodeOf = (cause: Cause.Cause<unknown>): number => {
  if (Cause.hasInterruptsOnly(cause)) return 0
  const error = Cause.squash(cause)
  return typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "UsageError" ? 2 : 1
}

const messageOf = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error && error.message !== "") {
    const tag = (error as { _tag?: unknown })._tag
    return `${typeof tag === "string" ? tag : error.name}: ${error.message}`
  }
  return Cause.pretty(cause)
}

/** The Kubernetes client: the given kubeconfig files, else `$KUBECONFIG`, in-cluster, `~/.kube/config`. */
export const kubeClientLayer = (config: RunConfig) =>
  config.kubeconfig.length > 0
    ? KubeClient.layerFromFile(config.kubeconfig, { userAgent: "cartographer-operator" })
    : KubeClient.layerConfig({ userAgent: "cartographer-operator" })

/**
 * The whole process: the operator with its logger and client, logging a fatal error once (as a JSON line) before the
 * process exits with `exitCodeOf`.
 */
export const main = (config: RunConfig) =>
  operator(config).pipe(
    Effect.scoped,
    Effect.provide(kubeClientLayer(config)),
    Effect.tapCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.logInfo("stopped")
        : Effect.logError("fatal", { error: messageOf(cause) }),
    ),
    Effect.provide(Logging.layer({ format: config.logFormat, level: config.logLevel })),
  )

/** `NodeRuntime.runMain`'s teardown: interruption by a signal is a clean shutdown (0), not 130. */
export const teardown: Runtime.Teardown = (exit, onExit) => onExit(exit._tag === "Success" ? 0 : exitCodeOf(exit.cause))
