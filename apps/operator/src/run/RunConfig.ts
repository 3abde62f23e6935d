/**
 * The configuration of `cartographer run`: one table of options, each with its flag, its environment variable, its
 * default and one line of documentation. Flags win over the environment, the environment over the default; both are
 * read through one Effect `Config` (flags become a `ConfigProvider` layered over the environment's), so that a value
 * is parsed and validated the same way wherever it comes from.
 */
import { hostname } from "node:os"
import { delimiter } from "node:path"
import { parseArgs } from "node:util"
import { Config, ConfigProvider, Duration, Effect, Option, Schema } from "effect"

export type LogFormat = "json" | "text"
export type LogLevelName = "debug" | "info" | "warn" | "error"

/** A listen address (`host:port`, `:port` for every interface); `undefined` when the server is disabled (`0`). */
export interface BindAddress {
  readonly host: string | undefined
  readonly port: number
}

export interface RunConfig {
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
  /** This process's name for the Lease holder (`<identity>_<uuid>`). */
  readonly identity: string
  readonly metricsBindAddress: BindAddress | undefined
  readonly healthProbeBindAddress: BindAddress | undefined
  readonly concurrency: number
  readonly shutdownGrace: Duration.Duration
  readonly cacheSyncTimeout: Duration.Duration
  readonly logLevel: LogLevelName
  readonly logFormat: LogFormat
}

interface OptionSpec {
  readonly flag: string
  /** Environment variable read when the flag is absent. */
  readonly env: string
  readonly type: "string" | "boolean"
  /** Shown in the help; the typed default lives in `runConfig`. */
  readonly default: string
  readonly doc: string
}

/** Every option of `cartographer run`, in the order of the help text. */
export const runOptions: ReadonlyArray<OptionSpec> = [
  {
    flag: "kubeconfig",
    env: "KUBECONFIG",
    type: "string",
    default: "in-cluster, else ~/.kube/config",
    doc: "kubeconfig file (the environment variable may be a path list)",
  },
  {
    flag: "namespaces",
    env: "CARTOGRAPHER_NAMESPACES",
    type: "string",
    default: "all namespaces",
    doc: "comma-separated namespaces whose Workspaces are reconciled",
  },
  {
    flag: "leader-elect",
    env: "CARTOGRAPHER_LEADER_ELECT",
    type: "boolean",
    default: "false",
    doc: "elect a leader through a Lease, so that only one replica reconciles (--no-leader-elect turns it off)",
  },
  {
    flag: "leader-election-id",
    env: "CARTOGRAPHER_LEADER_ELECTION_ID",
    type: "string",
    default: "cartographer-operator",
    doc: "name of the Lease",
  },
  {
    flag: "leader-election-namespace",
    env: "CARTOGRAPHER_LEADER_ELECTION_NAMESPACE",
    type: "string",
    default: "$POD_NAMESPACE, else cartographer-system",
    doc: "namespace of the Lease",
  },
  {
    flag: "lease-duration",
    env: "CARTOGRAPHER_LEASE_DURATION",
    type: "string",
    default: "15s",
    doc: "how long a standby waits after the last renewal before taking the Lease",
  },
  {
    flag: "renew-deadline",
    env: "CARTOGRAPHER_RENEW_DEADLINE",
    type: "string",
    default: "10s",
    doc: "how long the leader retries renewing before it gives up (and exits)",
  },
  {
    flag: "retry-period",
    env: "CARTOGRAPHER_RETRY_PERIOD",
    type: "string",
    default: "2s",
    doc: "interval between attempts to acquire or renew the Lease",
  },
  {
    flag: "metrics-bind-address",
    env: "CARTOGRAPHER_METRICS_BIND_ADDRESS",
    type: "string",
    default: ":8080",
    doc: "address of /metrics (Prometheus text format); 0 disables it",
  },
  {
    flag: "health-probe-bind-address",
    env: "CARTOGRAPHER_HEALTH_PROBE_BIND_ADDRESS",
    type: "string",
    default: ":8081",
    doc: "address of /healthz and /readyz; 0 disables them",
  },
  {
    flag: "concurrency",
    env: "CARTOGRAPHER_CONCURRENCY",
    type: "string",
    default: "4",
    doc: "Workspaces reconciled at the same time (one Workspace is never reconciled twice at once)",
  },
  {
    flag: "shutdown-grace",
    env: "CARTOGRAPHER_SHUTDOWN_GRACE",
    type: "string",
    default: "30s",
    doc: "on SIGTERM, how long in-flight reconciles may take to finish",
  },
  {
    flag: "cache-sync-timeout",
    env: "CARTOGRAPHER_CACHE_SYNC_TIMEOUT",
    type: "string",
    default: "2m",
    doc: "how long the initial list of every watch may take before the process gives up (exit 1)",
  },
  {
    flag: "log-level",
    env: "CARTOGRAPHER_LOG_LEVEL",
    type: "string",
    default: "info",
    doc: "debug, info, warn or error",
  },
  { flag: "log-format", env: "CARTOGRAPHER_LOG_FORMAT", type: "string", default: "json", doc: "json or text" },
]

export const usage = `Usage: cartographer run [options]

Runs the operator: watches Workspaces and their children, reconciles them, serves /healthz, /readyz and /metrics.
Every option can also be set through its environment variable; a flag wins over the environment.

Options:
${runOptions
  .map((o) => {
    const name = `  --${o.flag}${o.type === "boolean" ? "" : " <value>"}`
    return `${name.padEnd(42)}${o.doc}\n${" ".repeat(42)}env ${o.env}; default ${o.default}`
  })
  .join("\n")}
  -h, --help                              show this help

Durations are written as 30s, 2m, 1m30s or 500ms. Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT: in-flight
reconciles drained, Lease released), 1 on a fatal error (Lease lost, caches not synced in time, API unreachable at
start), 2 on a usage or configuration error.`

/** A command-line or configuration mistake: exit code 2, with the message and the usage. */
export class UsageError extends Schema.TaggedError<UsageError>("@cartographer/operator/UsageError")("UsageError", {
  message: Schema.String,
}) {}

const goDuration = /^(\d+(?:\.\d+)?(?:ms|s|m|h))+$/u
const unitMillis: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/** `30s`, `1m30s`, `500ms`, `2h` (Go's `time.ParseDuration` subset that flags use), or Effect's `30 seconds`. */
export const parseDuration = (text: string): Duration.Duration | undefined => {
  const trimmed = text.trim()
  if (goDuration.test(trimmed)) {
    let millis = 0
    for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/gu)) {
      millis += Number(amount) * (unitMillis[unit as string] ?? 0)
    }
    return Duration.millis(millis)
  }
  return Option.getOrUndefined(Duration.fromInput(trimmed as Duration.Input))
}

/** `:8080` (every interface), `127.0.0.1:0` (a random free port), `[::1]:8080`; `0` disables the server. */
export const parseBindAddress = (text: string): BindAddress | undefined | "invalid" => {
  const trimmed = text.trim()
  if (trimmed === "0" || trimmed === "") return undefined
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/u.exec(trimmed)
  if (match === null) return "invalid"
  const port = Number(match[3])
  if (port > 65_535) return "invalid"
  const host = match[1] ?? match[2]
  return { host: host === undefined || host === "" ? undefined : host, port }
}

/** The raw text of every option (flag, else environment), `undefined` when neither sets it. */
const rawOptions = Config.all(
  Object.fromEntries(runOptions.map((o) => [o.flag, Config.option(Config.String(o.env))])),
) as Config.Config<Record<string, Option.Option<string>>>

const specOf = (flag: string): OptionSpec => {
  const spec = runOptions.find((o) => o.flag === flag)
  if (spec === undefined) throw new Error(`no option --${flag}`)
  return spec
}

/** Validates the raw texts into a `RunConfig`; `environment` supplies `POD_NAME`/`POD_NAMESPACE`. */
export const decodeRunConfig = (
  raw: Readonly<Record<string, string | undefined>>,
  environment: Readonly<Record<string, string | undefined>>,
): RunConfig | UsageError => {
  const problems: Array<string> = []
  const where = (flag: string) => `--${flag} (${specOf(flag).env})`
  const text = (flag: string, fallback: string): string => {
    const value = raw[flag]?.trim()
    return value === undefined || value === "" ? fallback : value
  }
  const duration = (flag: string, fallback: string): Duration.Duration => {
    const value = text(flag, fallback)
    const parsed = parseDuration(value)
    if (parsed === undefined || !Duration.isPositive(parsed)) {
      problems.push(`${where(flag)}: "${value}" is not a positive duration such as 30s, 2m or 1m30s`)
      return Duration.zero
    }
    return parsed
  }
  const bool = (flag: string, fallback: boolean): boolean => {
    const value = text(flag, String(fallback)).toLowerCase()
    if (["true", "1", "yes"].includes(value)) return true
    if (["false", "0", "no"].includes(value)) return false
    problems.push(`${where(flag)}: "${value}" is not true or false`)
    return fallback
  }
  const oneOf = <A extends string>(flag: string, fallback: A, values: ReadonlyArray<A>): A => {
    const value = text(flag, fallback).toLowerCase()
    if ((values as ReadonlyArray<string>).includes(value)) return value as A
    problems.push(`${where(flag)}: "${value}" is not one of ${values.join(", ")}`)
    return fallback
  }
  const address = (flag: string, fallback: string): BindAddress | undefined => {
    const value = text(flag, fallback)
    const parsed = parseBindAddress(value)
    if (parsed === "invalid") {
      problems.push(`${where(flag)}: "${value}" is not host:port, :port or 0`)
      return undefined
    }
    return parsed
  }
  const dnsName = (flag: string, fallback: string): string => {
    const value = text(flag, fallback)
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/u.test(value)) {
      problems.push(`${where(flag)}: "${value}" is not a Kubernetes object name`)
    }
    return value
  }

  const namespaces = text("namespaces", "")
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "")
  for (const namespace of namespaces) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/u.test(namespace)) {
      problems.push(`${where("namespaces")}: "${namespace}" is not a namespace name`)
    }
  }
  const concurrencyText = text("concurrency", "4")
  const concurrency = Number(concurrencyText)
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 100) {
    problems.push(`${where("concurrency")}: "${concurrencyText}" is not an integer from 1 to 100`)
  }
  const podNamespace = environment.POD_NAMESPACE?.trim()
  const config: RunConfig = {
    kubeconfig: text("kubeconfig", "")
      .split(delimiter)
      .filter((path) => path !== ""),
    namespaces: [...new Set(namespaces)].sort(),
    leaderElect: bool("leader-elect", false),
    leaderElectionId: dnsName("leader-election-id", "cartographer-operator"),
    leaderElectionNamespace: dnsName(
      "leader-election-namespace",
      podNamespace === undefined || podNamespace === "" ? "cartographer-system" : podNamespace,
    ),
    leaseDuration: duration("lease-duration", "15s"),
    renewDeadline: duration("renew-deadline", "10s"),
    retryPeriod: duration("retry-period", "2s"),
    identity: environment.POD_NAME?.trim() || hostname(),
    metricsBindAddress: address("metrics-bind-address", ":8080"),
    healthProbeBindAddress: address("health-probe-bind-address", ":8081"),
    concurrency,
    shutdownGrace: duration("shutdown-grace", "30s"),
    cacheSyncTimeout: duration("cache-sync-timeout", "2m"),
    logLevel: oneOf<LogLevelName>("log-level", "info", ["debug", "info", "warn", "error"]),
    logFormat: oneOf<LogFormat>("log-format", "json", ["json", "text"]),
  }
  const lease = Duration.toMillis(config.leaseDuration)
  const renew = Duration.toMillis(config.renewDeadline)
  const retry = Duration.toMillis(config.retryPeriod)
  if (problems.length === 0 && !(lease > renew && renew > 1.2 * retry)) {
    problems.push("need --lease-duration > --renew-deadline > 1.2 × --retry-period (client-go's rule)")
  }
  return problems.length > 0 ? new UsageError({ message: problems.join("\n") }) : config
}

/**
 * Parses `cartographer run`'s arguments and reads the configuration: flags first, then the environment. Fails with a
 * `UsageError` for an unknown flag, a positional argument or an invalid value; `"help"` for `--help`.
 */
export const loadRunConfig = (
  argv: ReadonlyArray<string>,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Effect.Effect<RunConfig | "help", UsageError> =>
  Effect.gen(function* () {
    const parsed = yield* Effect.try({
      try: () =>
        parseArgs({
          args: [...argv],
          allowPositionals: false,
          allowNegative: true,
          strict: true,
          options: {
            ...Object.fromEntries(runOptions.map((o) => [o.flag, { type: o.type }])),
            help: { type: "boolean", short: "h" },
          },
        }).values as Record<string, string | boolean | undefined>,
      catch: (error) => new UsageError({ message: error instanceof Error ? error.message : String(error) }),
    })
    if (parsed.help === true) return "help" as const
    // Flags as a record keyed by environment name, in front of the real environment.
    const fromFlags: Record<string, string> = {}
    for (const o of runOptions) {
      const value = parsed[o.flag]
      if (value !== undefined) fromFlags[o.env] = String(value)
    }
    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries(environment)) if (value !== undefined) env[key] = value
    const provider = ConfigProvider.orElse(ConfigProvider.fromEnv({ env: fromFlags }), ConfigProvider.fromEnv({ env }))
    const raw = yield* rawOptions
      .parse(provider)
      .pipe(Effect.mapError((error) => new UsageError({ message: error.message })))
    const config = decodeRunConfig(
      Object.fromEntries(Object.entries(raw).map(([flag, value]) => [flag, Option.getOrUndefined(value)])),
      environment,
    )
    return config instanceof UsageError ? yield* config : config
  })
