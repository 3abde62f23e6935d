import { Duration, Effect, Option } from "effect"
import { describe, expect, it } from "vitest"
import { parseBindAddress, parseDuration } from "../src/cli/Options.js"
import { loadRunConfig, type RunConfig, usage } from "../src/run/RunConfig.js"

const load = (argv: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.runPromise(Effect.result(loadRunConfig(argv, env)))

const config = async (argv: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<RunConfig> => {
  const result = await load(argv, env)
  if (result._tag === "Failure" || result.success === "help") throw new Error(`no config: ${JSON.stringify(result)}`)
  return result.success
}

const failure = async (argv: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<string> => {
  const result = await load(argv, env)
  if (result._tag === "Success") throw new Error("expected a usage error")
  return result.failure.message
}

describe("cartographer run configuration", () => {
  it("has the stated defaults when neither flags nor environment say anything", async () => {
    const c = await config([])
    expect(c).toMatchObject({
      kubeconfig: [],
      namespaces: [],
      leaderElect: false,
      leaderElectionId: "cartographer-operator",
      leaderElectionNamespace: "cartographer-system",
      metricsBindAddress: { host: undefined, port: 8080 },
      healthProbeBindAddress: { host: undefined, port: 8081 },
      concurrency: 4,
      logLevel: "info",
      logFormat: "json",
    })
    expect(Duration.toMillis(c.leaseDuration)).toBe(15_000)
    expect(Duration.toMillis(c.renewDeadline)).toBe(10_000)
    expect(Duration.toMillis(c.retryPeriod)).toBe(2_000)
    expect(Duration.toMillis(c.resyncPeriod)).toBe(10 * 3_600_000)
    expect(Duration.toMillis(c.shutdownGrace)).toBe(30_000)
    expect(Duration.toMillis(c.cacheSyncTimeout)).toBe(120_000)
  })

  it("reads every option from its environment variable", async () => {
    const c = await config([], {
      KUBECONFIG: "/a:/b",
      CARTOGRAPHER_NAMESPACES: "team-b, team-a",
      CARTOGRAPHER_LEADER_ELECT: "true",
      CARTOGRAPHER_LEADER_ELECTION_ID: "lease",
      CARTOGRAPHER_LEADER_ELECTION_NAMESPACE: "ops",
      CARTOGRAPHER_LEASE_DURATION: "30s",
      CARTOGRAPHER_RENEW_DEADLINE: "20s",
      CARTOGRAPHER_RETRY_PERIOD: "4s",
      CARTOGRAPHER_METRICS_BIND_ADDRESS: "127.0.0.1:0",
      CARTOGRAPHER_HEALTH_PROBE_BIND_ADDRESS: "0",
      CARTOGRAPHER_CONCURRENCY: "8",
      CARTOGRAPHER_RESYNC_PERIOD: "45s",
      CARTOGRAPHER_SHUTDOWN_GRACE: "1m",
      CARTOGRAPHER_CACHE_SYNC_TIMEOUT: "90s",
      CARTOGRAPHER_LOG_LEVEL: "debug",
      CARTOGRAPHER_LOG_FORMAT: "text",
    })
    expect(c).toMatchObject({
      kubeconfig: ["/a", "/b"],
      namespaces: ["team-a", "team-b"],
      leaderElect: true,
      leaderElectionId: "lease",
      leaderElectionNamespace: "ops",
      metricsBindAddress: { host: "127.0.0.1", port: 0 },
      healthProbeBindAddress: undefined,
      concurrency: 8,
      logLevel: "debug",
      logFormat: "text",
    })
    expect(Duration.toMillis(c.resyncPeriod)).toBe(45_000)
    expect(Duration.toMillis(c.shutdownGrace)).toBe(60_000)
  })

  it("lets a flag win over the environment", async () => {
    const c = await config(["--no-leader-elect", "--concurrency=2", "--log-format", "json"], {
      CARTOGRAPHER_LEADER_ELECT: "true",
      CARTOGRAPHER_CONCURRENCY: "9",
      CARTOGRAPHER_LOG_FORMAT: "text",
    })
    expect(c).toMatchObject({ leaderElect: false, concurrency: 2, logFormat: "json" })
    expect((await config(["--leader-elect"], { CARTOGRAPHER_LEADER_ELECT: "false" })).leaderElect).toBe(true)
  })

  it("puts the Lease in the pod's namespace and names this replica after the pod", async () => {
    const c = await config([], { POD_NAMESPACE: "operators", POD_NAME: "cartographer-operator-abc" })
    expect(c.leaderElectionNamespace).toBe("operators")
    expect(c.identity).toBe("cartographer-operator-abc")
  })

  it("rejects unknown flags, positional arguments and bad values, naming the flag and its variable", async () => {
    expect(await failure(["--bogus"])).toContain("--bogus")
    expect(await failure(["extra"])).toContain("extra")
    expect(await failure(["--lease-duration", "soon"])).toContain("--lease-duration (CARTOGRAPHER_LEASE_DURATION)")
    expect(await failure([], { CARTOGRAPHER_CONCURRENCY: "0" })).toContain("--concurrency (CARTOGRAPHER_CONCURRENCY)")
    expect(await failure(["--log-level", "loud"])).toContain("debug, info, warn, error")
    expect(await failure(["--namespaces", "Not_A_Namespace"])).toContain("not a namespace name")
    expect(await failure(["--metrics-bind-address", "8080"])).toContain("host:port")
    expect(await failure(["--lease-duration", "5s"])).toContain("--lease-duration > --renew-deadline")
  })

  it("answers --help with every option, its variable and its default written as it would be given", async () => {
    const result = await load(["--help"])
    expect(result._tag === "Success" && result.success).toBe("help")
    expect(usage).toContain("--lease-duration <value>")
    expect(usage).toContain("env CARTOGRAPHER_LEASE_DURATION; default 15s")
    expect(usage).toContain("env CARTOGRAPHER_CACHE_SYNC_TIMEOUT; default 2m")
    expect(usage).toContain("env CARTOGRAPHER_METRICS_BIND_ADDRESS; default :8080")
    expect(usage).toContain("env CARTOGRAPHER_LEADER_ELECT; default false")
    expect(usage).toContain("env KUBECONFIG; default in-cluster, else ~/.kube/config")
  })

  it("parses Go-style and Effect-style durations, and listen addresses", () => {
    expect(Duration.toMillis(parseDuration("1m30s") ?? Duration.zero)).toBe(90_000)
    expect(Duration.toMillis(parseDuration("500ms") ?? Duration.zero)).toBe(500)
    expect(Duration.toMillis(parseDuration("2 seconds") ?? Duration.zero)).toBe(2_000)
    expect(parseDuration("later")).toBeUndefined()
    expect(parseBindAddress(":8080")).toEqual(Option.some({ host: undefined, port: 8080 }))
    expect(parseBindAddress("[::1]:9")).toEqual(Option.some({ host: "::1", port: 9 }))
    expect(parseBindAddress("0")).toEqual(Option.some(undefined))
    expect(parseBindAddress("localhost:99999")).toEqual(Option.none())
  })
})
