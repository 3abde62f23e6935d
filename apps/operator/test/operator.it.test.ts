// The bundled operator as a process against the run's shared control plane, confined to a namespace of its own
// (`--namespaces`, Lease there too): probes, metrics, one log line per reconcile, leader election between two
// replicas, the SIGTERM handover and the exit on a lost Lease. The install-as-shipped path (zip, kustomize, the
// shipped RBAC, tier "cluster") is install.it.test.ts.
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { kubectl, pollUntil, sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { type Bundle, boundPort, buildBundle, httpGet, type RunningCli, startCli } from "./support/processes.js"

const namespace = useNamespace("operator-run")
const sample = fileURLToPath(new URL("../../../samples/basic-workspace.yaml", import.meta.url))
const lease = "cartographer-test"

let bundle: Bundle
const running: Array<RunningCli> = []

beforeAll(async () => {
  bundle = await buildBundle()
}, 120_000)
afterEach(async () => {
  await Promise.all(running.splice(0).map((cli) => cli.stop("SIGKILL")))
  // A killed leader leaves its Lease held for 15 s: start the next test from a free one.
  await kubectl(["delete", "lease", lease, "-n", namespace, "--ignore-not-found"])
})
afterAll(() => bundle?.remove())

const operator = (name: string, extra: ReadonlyArray<string> = []) => {
  const cli = startCli(
    bundle.path,
    name,
    [
      "run",
      `--kubeconfig=${sharedControlPlane().kubeconfigPath}`,
      `--namespaces=${namespace}`,
      "--health-probe-bind-address=127.0.0.1:0",
      "--metrics-bind-address=127.0.0.1:0",
      `--leader-election-namespace=${namespace}`,
      `--leader-election-id=${lease}`,
      ...extra,
    ],
    { POD_NAME: name },
  )
  running.push(cli)
  return cli
}

const holder = async (): Promise<string> => {
  const result = await kubectl(["get", "lease", lease, "-n", namespace, "-o", "jsonpath={.spec.holderIdentity}"])
  return result.code === 0 ? result.stdout : ""
}

const metric = async (cli: RunningCli, name: string): Promise<string> => {
  const { body } = await httpGet(await boundPort(cli, "metrics"), "/metrics")
  return body
    .split("\n")
    .filter((line) => line.startsWith(name))
    .join("\n")
}

describe("cartographer run", () => {
  it("answers /healthz at once, /readyz once its caches are synced, and /metrics in Prometheus format", async () => {
    const cli = operator("probes")
    const health = await boundPort(cli, "health probes")
    expect((await httpGet(health, "/healthz")).status).toBe(200)
    await cli.waitForLog((l) => l.msg === "caches synced", 120_000, '"caches synced"')
    expect(await httpGet(health, "/readyz")).toEqual({ status: 200, body: "ok\n" })
    const { status, body } = await httpGet(await boundPort(cli, "metrics"), "/metrics")
    expect(status).toBe(200)
    for (const name of [
      "controller_runtime_reconcile_total",
      "controller_runtime_reconcile_errors_total",
      "controller_runtime_reconcile_time_seconds_bucket",
      "controller_runtime_max_concurrent_reconciles",
      "workqueue_depth",
      "workqueue_adds_total",
      "workqueue_retries_total",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
      'cartographer_k8s_watch_lists_total{kind="Workspace"}',
    ]) {
      expect(body).toContain(name)
    }
    expect((await httpGet(health, "/nothing")).status).toBe(404)
  })

  it("reconciles a Workspace and logs one JSON line per reconcile with key, duration and outcome", async () => {
    const cli = operator("reconciler")
    await cli.waitForLog((l) => l.msg === "caches synced", 120_000)
    const manifest = parse(await readFile(sample, "utf8")) as { metadata: { name: string } }
    const applied = await kubectl(["apply", "-n", namespace, "-f", "-"], { input: JSON.stringify(manifest) })
    expect(applied.code, applied.stderr).toBe(0)
    const line = await cli.waitForLog(
      (l) => l.msg === "reconciled" && l.key === `${namespace}/${manifest.metadata.name}`,
      60_000,
      "a reconcile log line",
    )
    expect(line).toMatchObject({ level: "info" })
    expect(["success", "requeue", "error", "terminal"]).toContain(line.result)
    expect(typeof line.seconds).toBe("number")
    expect(Date.parse(String(line.time))).not.toBeNaN()
    // Secrets never reach the log: the generated database password is in the Secret, not in any line.
    const secret = await pollUntil(
      "the database Secret",
      async () => {
        const r = await kubectl([
          "get",
          "secret",
          "test-environment-environment-secrets",
          "-n",
          namespace,
          "-o",
          "json",
        ])
        return r.code === 0 ? (JSON.parse(r.stdout) as { data: Record<string, string> }) : undefined
      },
      { timeoutMs: 60_000 },
    )
    const password = Buffer.from(Object.values(secret.data)[0] ?? "", "base64").toString()
    await cli.waitForLog((l) => l.msg === "reconciled" && l.result !== "error", 60_000)
    for (const value of Object.values(secret.data)) {
      const decoded = Buffer.from(value, "base64").toString()
      if (decoded.length >= 8) expect(cli.stdout()).not.toContain(decoded)
    }
    expect(password.length).toBeGreaterThan(0)
    const total = await metric(cli, "controller_runtime_reconcile_total")
    expect(total).toMatch(/result="(success|requeue_after)"\} [1-9]/u)
    await kubectl(["delete", "workspace", "--all", "-n", namespace, "--wait=false"])
  }, 300_000)

  it("runs the workers in the leader only; SIGTERM drains, releases the Lease, exits 0, and the standby takes over", async () => {
    const a = operator("replica-a", ["--leader-elect"])
    await a.waitForLog((l) => l.msg === "leading: starting the reconcile workers", 120_000, "leadership")
    const b = operator("replica-b", ["--leader-elect"])
    await b.waitForLog((l) => l.msg === "caches synced", 120_000)
    expect(await holder()).toMatch(/^replica-a_/u)
    expect(b.logs.some((l) => l.msg === "leading: starting the reconcile workers")).toBe(false)
    expect(await metric(a, "leader_election_master_status")).toContain(
      `leader_election_master_status{name="${lease}"} 1`,
    )
    expect(await metric(b, "leader_election_master_status")).toContain(
      `leader_election_master_status{name="${lease}"} 0`,
    )
    // Both are ready: readiness means "caches synced", not "leading".
    expect((await httpGet(await boundPort(b, "health probes"), "/readyz")).status).toBe(200)

    const signalled = Date.now()
    const exit = await a.stop("SIGTERM")
    expect(exit.code).toBe(0)
    expect(a.logs.some((l) => l.msg === "released the lease")).toBe(true)
    await b.waitForLog((l) => l.msg === "leading: starting the reconcile workers", 30_000, "takeover")
    const handover = Date.now() - signalled
    process.stderr.write(
      `[operator] SIGTERM → exit ${exit.at - signalled} ms, → standby leading ${handover} ms (lease 15 s, retry 2 s)\n`,
    )
    // About one retry period (2 s × [1, 1.2)) instead of a 15 s lease expiry; the bound is generous for a busy machine.
    expect(handover).toBeLessThan(12_000)
    expect(await holder()).toMatch(/^replica-b_/u)
  })

  it("exits non-zero at once when another holder takes the Lease", async () => {
    const a = operator("replica-lost", ["--leader-elect"])
    await a.waitForLog((l) => l.msg === "leading: starting the reconcile workers", 120_000, "leadership")
    const current = JSON.parse((await kubectl(["get", "lease", lease, "-n", namespace, "-o", "json"])).stdout) as {
      spec: Record<string, unknown>
    }
    const now = new Date().toISOString().replace("Z", "000Z")
    const stolen = {
      ...current,
      spec: { ...current.spec, holderIdentity: "intruder", renewTime: now, acquireTime: now, leaseDurationSeconds: 60 },
    }
    const taken = Date.now()
    const replaced = await kubectl(["replace", "-f", "-"], { input: JSON.stringify(stolen) })
    expect(replaced.code, replaced.stderr).toBe(0)
    const exit = await a.exited
    process.stderr.write(`[operator] Lease taken → process exited in ${exit.at - taken} ms\n`)
    expect(exit.code).toBe(1)
    const fatal = a.logs.find((l) => l.msg === "fatal")
    expect(String(fatal?.error)).toContain("LeadershipLost")
    // It did not release (or touch) the Lease it no longer holds.
    expect(await holder()).toBe("intruder")
  })
})
