/**
 * The configuration of `cartographer run`: one table of options (see `cli/Options.ts`), each with its flag, its
 * environment variable, the Schema that reads its text, its default and one line of documentation. A flag wins over
 * the environment, the environment over the default. Defaults that are facts of another module (the engine's
 * concurrency and shutdown grace, the Lease timings) are taken from it, not restated.
 */
import { hostname } from "node:os"
import { LeaderElection } from "@cartographer/k8s"
import { Engine } from "@cartographer/reconciler"
import { Duration, Effect, Result, Schema } from "effect"
import { type BindAddress, type Environment, help, type Options, parse, reference, Text } from "../cli/Options.js"

export type LogFormat = "json" | "text"
export type LogLevelName = "debug" | "info" | "warn" | "error"

/** What the options say; `RunConfig` adds what the pod says about itself. */
interface RunOptions {
  /** Kubeconfig files (the first one's context wins); none: in-cluster, else `~/.kube/config`. */
  readonly kubeconfig: ReadonlyArray<string>
  /** Namespaces to watch; empty: all namespaces. */
  readonly namespaces: ReadonlyArray<string>
  readonly leaderElect: boolean
  readonly leaderElectionId: string
  readonly leaderElectionNamespace: string
  readonly leaseDuration: Duration.Duration
  readonly renewDeadline: Duration.Duration
  readonly retryPeriod: Duration.Duration
  readonly metricsBindAddress: BindAddress | undefined
  readonly healthProbeBindAddress: BindAddress | undefined
  readonly concurrency: number
  readonly resyncPeriod: Duration.Duration
  readonly shutdownGrace: Duration.Duration
  readonly cacheSyncTimeout: Duration.Duration
  readonly logLevel: LogLevelName
  readonly logFormat: LogFormat
}

export interface RunConfig extends RunOptions {
  /** This process's name for the Lease holder (`<identity>_<uuid>`) and its Events: `$POD_NAME`, else the host name. */
  readonly identity: string
}

const defaultLeaseNamespace = "cartographer-system"

/** Every option of `cartographer run`, in the order of the help text. */
export const runOptions: Options<RunOptions> = {
  kubeconfig: {
    flag: "kubeconfig",
    env: "KUBECONFIG",
    schema: Text.paths,
    default: [],
    defaultText: "in-cluster, else ~/.kube/config",
    doc: "kubeconfig file (the environment variable may be a path list)",
  },
  namespaces: {
    flag: "namespaces",
    env: "CARTOGRAPHER_NAMESPACES",
    schema: Text.namespaces,
    default: [],
    defaultText: "all namespaces",
    doc: "comma-separated namespaces whose Workspaces are reconciled",
  },
  leaderElect: {
    flag: "leader-elect",
    env: "CARTOGRAPHER_LEADER_ELECT",
    switch: true,
    schema: Text.boolean,
    default: false,
    doc: "elect a leader through a Lease, so that only one replica reconciles (--no-leader-elect turns it off)",
  },
  leaderElectionId: {
    flag: "leader-election-id",
    env: "CARTOGRAPHER_LEADER_ELECTION_ID",
    schema: Text.objectName,
    default: "cartographer-operator",
    doc: "name of the Lease",
  },
  leaderElectionNamespace: {
    flag: "leader-election-namespace",
    env: "CARTOGRAPHER_LEADER_ELECTION_NAMESPACE",
    schema: Text.objectName,
    default: (environment) => environment.POD_NAMESPACE?.trim() || defaultLeaseNamespace,
    defaultText: `$POD_NAMESPACE, else ${defaultLeaseNamespace}`,
    doc: "namespace of the Lease",
  },
  leaseDuration: {
    flag: "lease-duration",
    env: "CARTOGRAPHER_LEASE_DURATION",
    schema: Text.duration,
    default: LeaderElection.defaults.leaseDuration,
    doc: "how long a standby waits after the last renewal before taking the Lease",
  },
  renewDeadline: {
    flag: "renew-deadline",
    env: "CARTOGRAPHER_RENEW_DEADLINE",
    schema: Text.duration,
    default: LeaderElection.defaults.renewDeadline,
    doc: "how long the leader retries renewing before it gives up (and exits)",
  },
  retryPeriod: {
    flag: "retry-period",
    env: "CARTOGRAPHER_RETRY_PERIOD",
    schema: Text.duration,
    default: LeaderElection.defaults.retryPeriod,
    doc: "interval between attempts to acquire or renew the Lease",
  },
  metricsBindAddress: {
    flag: "metrics-bind-address",
    env: "CARTOGRAPHER_METRICS_BIND_ADDRESS",
    schema: Text.bindAddress,
    default: { host: undefined, port: 8080 },
    doc: "address of /metrics (Prometheus text format); 0 disables it",
  },
  healthProbeBindAddress: {
    flag: "health-probe-bind-address",
    env: "CARTOGRAPHER_HEALTH_PROBE_BIND_ADDRESS",
    schema: Text.bindAddress,
    default: { host: undefined, port: 8081 },
    doc: "address of /healthz and /readyz; 0 disables them",
  },
  concurrency: {
    flag: "concurrency",
    env: "CARTOGRAPHER_CONCURRENCY",
    schema: Text.integer(1, 100),
    default: Engine.defaults.concurrency,
    doc: "Workspaces reconciled at the same time (one Workspace is never reconciled twice at once)",
  },
  resyncPeriod: {
    flag: "resync-period",
    env: "CARTOGRAPHER_RESYNC_PERIOD",
    schema: Text.duration,
    default: Engine.defaults.resyncPeriod,
    doc: "how often every Workspace is reconciled even without a change (x 0.9-1.1, jittered): the net for what a watch missed",
  },
  shutdownGrace: {
    flag: "shutdown-grace",
    env: "CARTOGRAPHER_SHUTDOWN_GRACE",
    schema: Text.duration,
    default: Engine.defaults.shutdownGrace,
    doc: "on SIGTERM, how long in-flight reconciles may take to finish",
  },
  cacheSyncTimeout: {
    flag: "cache-sync-timeout",
    env: "CARTOGRAPHER_CACHE_SYNC_TIMEOUT",
    schema: Text.duration,
    default: Duration.minutes(2),
    doc: "how long the initial list of every watch may take before the process gives up (exit 1)",
  },
  logLevel: {
    flag: "log-level",
    env: "CARTOGRAPHER_LOG_LEVEL",
    schema: Text.oneOf(["debug", "info", "warn", "error"]),
    default: "info",
    doc: "debug, info, warn or error",
  },
  logFormat: {
    flag: "log-format",
    env: "CARTOGRAPHER_LOG_FORMAT",
    schema: Text.oneOf(["json", "text"]),
    default: "json",
    doc: "json or text",
  },
}

/** The options as docs/configuration.md lists them (generated by scripts/generate-config-reference.mjs). */
export const runOptionReference = reference(runOptions)

export const usage = `Usage: cartographer run [options]

Runs the operator: watches Workspaces and their children, reconciles them, serves /healthz, /readyz and /metrics.
Every option can also be set through its environment variable; a flag wins over the environment.

Options:
${help(runOptions)}

Durations are written as 30s, 2m, 1m30s or 500ms. Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT: in-flight
reconciles drained, Lease released), 1 on a fatal error (Lease lost, caches not synced in time, API unreachable at
start), 2 on a usage or configuration error.`

/** A command-line or configuration mistake: exit code 2, with the message and the usage. */
export class UsageError extends Schema.TaggedError<UsageError>("@cartographer/operator/UsageError")("UsageError", {
  message: Schema.String,
}) {}

/**
 * Reads `cartographer run`'s configuration: flags first, then the environment, then the defaults. Fails with a
 * `UsageError` for an unknown flag, a positional argument, an invalid value or Lease timings that would let two
 * leaders overlap; `"help"` for `--help`.
 */
export const loadRunConfig = (
  argv: ReadonlyArray<string>,
  environment: Environment = process.env,
): Effect.Effect<RunConfig | "help", UsageError> =>
  Effect.gen(function* () {
    const parsed = parse(runOptions, argv, environment)
    if (Result.isFailure(parsed)) return yield* new UsageError({ message: parsed.failure })
    if (parsed.success === "help") return "help" as const
    const options = parsed.success
    const lease = Duration.toMillis(options.leaseDuration)
    const renew = Duration.toMillis(options.renewDeadline)
    const retry = Duration.toMillis(options.retryPeriod)
    if (!(lease > renew && renew > 1.2 * retry)) {
      return yield* new UsageError({
        message: "need --lease-duration > --renew-deadline > 1.2 × --retry-period (client-go's rule)",
      })
    }
    return { ...options, identity: environment.POD_NAME?.trim() || hostname() }
  })
