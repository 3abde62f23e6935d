// What the README and docs/operations.md tell users to do, on a control plane of this suite's own (tier "cluster": the install
// creates and `kubectl delete -k` removes cluster-wide objects — the CRD among them — which would pull the shared
// control plane from under every other suite):
//
//   unpack the release zip → kubectl apply -k install → kubectl apply -f samples/basic-workspace.yaml → Ready
//   … → node bin/cartographer.mjs uninstall
//
// The operator runs as local processes of the bundle (kwok's nodes run no image; test/e2e/release.it.test.ts runs the
// release's image on a real node), under a token of the install's own
// ServiceAccount, so the RBAC that ships is the RBAC that is tested: a missing verb leaves the Workspace short of
// Ready and shows as a 403 in the audit log.
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  type ControlPlane,
  type KubectlResult,
  operatorRuntimeEnv,
  pollUntil,
  preboundVolume,
  type Release,
  readAudit,
  runKubectl,
  runRelease,
  startControlPlane,
  unpackRelease,
} from "@cartographer/test/harness"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Bundle, boundPort, buildBundle, httpGet, type RunningCli, runCli, startCli } from "./support/processes.js"

const system = "cartographer-system"
const operatorUser = `system:serviceaccount:${system}:cartographer`

let cp: ControlPlane
let bundle: Bundle
let unpacked: string
let operatorKubeconfig: string
/** The environment the Deployment runs the operator with (Node's and glibc's memory settings). */
let runtimeEnv: Readonly<Record<string, string>>
const processes: Array<RunningCli> = []

const kubectl = (args: ReadonlyArray<string>, input?: string): Promise<KubectlResult> =>
  runKubectl(cp.kubectlPath, cp.kubeconfigPath, args, input === undefined ? {} : { input })

const kubectlOk = async (args: ReadonlyArray<string>, input?: string): Promise<string> => {
  const result = await kubectl(args, input)
  if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}${result.stdout}`)
  return result.stdout
}

const patchSample = (type: "merge" | "json", patch: unknown) =>
  kubectlOk(["patch", "workspace", "test-environment", "-n", "default", `--type=${type}`, "-p", JSON.stringify(patch)])

/** The release's own CLI, as the README runs it, with the administrator's kubeconfig. */
const uninstall = (args: ReadonlyArray<string>) =>
  runCli(join(unpacked, "bin", "cartographer.mjs"), ["uninstall", `--kubeconfig=${cp.kubeconfigPath}`, ...args])

const operator = (name: string) => {
  const cli = startCli(
    bundle.path,
    name,
    [
      "run",
      `--kubeconfig=${operatorKubeconfig}`,
      "--leader-elect",
      "--health-probe-bind-address=127.0.0.1:0",
      "--metrics-bind-address=127.0.0.1:0",
    ],
    // As the Deployment sets them (downward API): the Lease goes to the pod's namespace.
    { ...runtimeEnv, POD_NAME: name, POD_NAMESPACE: system },
  )
  processes.push(cli)
  return cli
}

const leading = (cli: RunningCli, timeoutMs = 120_000) =>
  cli.waitForLog((l) => l.msg === "leading: starting the reconcile workers", timeoutMs, "leadership")

const leaseHolder = async () =>
  (await kubectl(["get", "lease", "cartographer-operator", "-n", system, "-o", "jsonpath={.spec.holderIdentity}"]))
    .stdout

const readyCondition = async (name: string, namespace: string) => {
  const result = await kubectl(["get", "workspace", name, "-n", namespace, "-o", "json"])
  if (result.code !== 0) return undefined
  const status = (JSON.parse(result.stdout) as { status?: { conditions?: Array<Record<string, string>> } }).status
  return status?.conditions?.find((c) => c.type === "Ready")
}

const staticVolume = (namespace: string, claim: string) =>
  preboundVolume({
    name: `test-volume-${claim}`,
    namespace,
    claim,
    path: join(unpacked, "volumes", claim),
    capacity: "16Gi",
  })

beforeAll(async () => {
  const started = Date.now()
  runtimeEnv = await operatorRuntimeEnv()
  let release: Release
  ;[cp, bundle, release] = await Promise.all([
    startControlPlane({ tier: "cluster", nodes: 2 }),
    buildBundle(),
    runRelease(),
  ])
  // The release zip, unpacked into a dedicated folder as the README says.
  unpacked = await mkdtemp(join(tmpdir(), "cartographer-unpacked-"))
  await unpackRelease(release.zip, unpacked)
  await release.remove()
  process.stderr.write(`[install] control plane, bundle and zip ready in ${Date.now() - started} ms\n`)
}, 300_000)

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop("SIGKILL")))
  await cp?.stop()
  await bundle?.remove()
  if (unpacked !== undefined) await rm(unpacked, { recursive: true, force: true })
})

describe("installing from the release zip", () => {
  it("kubectl apply -k install is accepted, and applying it again changes nothing", async () => {
    const first = await kubectl(["apply", "-k", join(unpacked, "install")])
    expect(first.code, first.stderr).toBe(0)
    // No Pod Security warnings: the operator's pod meets "restricted".
    expect(first.stderr).not.toMatch(/PodSecurity|violate/iu)
    await kubectlOk(["wait", "--for=condition=Established", "crd/workspaces.mlops.aigency.com", "--timeout=60s"])
    const again = await kubectl(["apply", "-k", join(unpacked, "install")])
    expect(again.code, again.stderr).toBe(0)
    const lines = again.stdout.trim().split("\n")
    expect(lines.length).toBeGreaterThanOrEqual(11)
    for (const line of lines) expect(line).toMatch(/ unchanged$/u)
    // The Deployment's two pods are admitted in the restricted namespace (kwok runs them as fake pods).
    await pollUntil(
      "the operator Deployment's pods",
      async () => {
        const pods = await kubectl([
          "get",
          "pods",
          "-n",
          system,
          "-l",
          "app.kubernetes.io/name=cartographer",
          "-o",
          "name",
        ])
        return pods.stdout.trim().split("\n").filter(Boolean).length === 2 ? true : undefined
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    )
  }, 180_000)

  it("runs the operator under the install's ServiceAccount: samples/basic-workspace.yaml becomes Ready, across a leader kill", async () => {
    const started = new Date()
    operatorKubeconfig = (await cp.clientFor({ namespace: system, name: "cartographer" })).kubeconfigPath
    const a = operator("replica-a")
    await leading(a)
    const b = operator("replica-b")
    await b.waitForLog((l) => l.msg === "caches synced", 120_000, "caches synced")

    // Both answer their probes and metrics; only the leader reconciles.
    for (const cli of [a, b]) {
      expect(await httpGet(await boundPort(cli, "health probes"), "/readyz")).toEqual({ status: 200, body: "ok\n" })
      expect((await httpGet(await boundPort(cli, "metrics"), "/metrics")).body).toContain(
        'leader_election_master_status{name="cartographer-operator"}',
      )
    }

    // The cluster's storage: this control plane has no provisioner, so a volume waits for the database's claim
    // (an administrator's static PersistentVolume; not ours, and kept after the uninstall like any cluster volume).
    await kubectlOk(
      ["apply", "-f", "-"],
      JSON.stringify(staticVolume("default", "test-environment-orion-database-pvc")),
    )
    await kubectlOk(["apply", "-f", join(unpacked, "samples", "basic-workspace.yaml")])
    await a.waitForLog((l) => l.msg === "reconciled" && l.key === "default/test-environment", 120_000, "a reconcile")
    expect(b.logs.some((l) => l.msg === "reconciled")).toBe(false)

    // Kill the leader mid-way (no release): the standby takes over once the Lease expires, and finishes.
    const killed = Date.now()
    await a.stop("SIGKILL")
    await leading(b, 60_000)
    const takeover = Date.now() - killed
    await pollUntil(
      "Workspace test-environment Ready",
      async () => ((await readyCondition("test-environment", "default"))?.status === "True" ? true : undefined),
      {
        timeoutMs: 240_000,
        intervalMs: 1_000,
        describe: () => `replica-b:\n${b.stdout().split("\n").slice(-30).join("\n")}`,
      },
    )
    process.stderr.write(
      `[install] leader SIGKILLed → standby leading after ${takeover} ms (lease 15 s); Ready ${Date.now() - killed} ms after the kill\n`,
    )
    expect(await leaseHolder()).toMatch(/^replica-b_/u)
    const body = (await httpGet(await boundPort(b, "metrics"), "/metrics")).body
    expect(body).toMatch(/controller_runtime_reconcile_total\{controller="workspace",result="success"\} [1-9]/u)
    expect(body).toContain('leader_election_master_status{name="cartographer-operator"} 1')
    const rss = Number(/^process_resident_memory_bytes (\S+)/mu.exec(body)?.[1] ?? Number.NaN)
    process.stderr.write(`[install] leader RSS after reconciling the sample: ${Math.round(rss / 2 ** 20)} MiB\n`)

    // The shipped RBAC sufficed: the API server refused the operator nothing.
    const denied = await readAudit(cp.auditLogPath, {
      user: operatorUser,
      since: started,
      where: (e) => e.responseStatus?.code === 403,
    })
    expect(denied.map((e) => `${e.verb} ${e.requestURI}`)).toEqual([])
  }, 420_000)

  it("hands over in about 2 s on SIGTERM: drained, Lease released, exit 0", async () => {
    const leader = processes.find(
      (p) => p.running() && p.logs.some((l) => l.msg === "leading: starting the reconcile workers"),
    )
    if (leader === undefined) throw new Error("no leader running")
    const standby = operator("replica-c")
    await standby.waitForLog((l) => l.msg === "caches synced", 120_000, "caches synced")
    const signalled = Date.now()
    const exit = await leader.stop("SIGTERM")
    await leading(standby, 30_000)
    const handover = Date.now() - signalled
    process.stderr.write(
      `[install] SIGTERM → exit in ${exit.at - signalled} ms, standby leading after ${handover} ms\n`,
    )
    expect(exit.code).toBe(0)
    expect(handover).toBeLessThan(12_000)
    // The new leader keeps the Workspace Ready.
    expect((await readyCondition("test-environment", "default"))?.status).toBe("True")
    await standby.stop("SIGTERM")
  }, 180_000)

  it("cartographer uninstall deletes nothing of the install while a Workspace is still going: its objects need the CRD", async () => {
    // A Workspace someone else's finalizer holds: its objects go (foreground), but it stays, so the CRD must too.
    await patchSample("merge", { metadata: { finalizers: ["cartographer.test/hold"] } })
    const held = await uninstall(["--timeout=10s"])
    expect(held.code, held.stderr).toBe(1)
    expect(held.stdout).toContain("deleting workspace/default/test-environment (foreground: its objects first)")
    expect(held.stdout).toMatch(
      /not gone after 10s: workspace\/default\/test-environment \(finalizers: .*cartographer\.test\/hold/u,
    )
    expect(held.stdout).not.toMatch(/deleting (customresourcedefinition|deployment|namespace)/u)
    expect((await kubectl(["get", "crd", "workspaces.mlops.aigency.com"])).code).toBe(0)
    expect((await kubectl(["get", "deployment", "cartographer-operator", "-n", system])).code).toBe(0)
    await patchSample("json", [{ op: "remove", path: "/metadata/finalizers" }])
  }, 120_000)

  it("cartographer uninstall, as the README says, leaves nothing of ours behind but the retained data and backup volumes and the Secret", async () => {
    // What a stopped operator leaves of a kubernetes pool's RBAC in another namespace: no owner reference, so the
    // garbage collector never removes it; uninstall does.
    await kubectlOk(["create", "namespace", "flows"])
    const poolLabels = {
      "mlops.aigency.com/environment": "test-environment",
      "mlops.aigency.com/workspace-namespace": "default",
      "app.kubernetes.io/managed-by": "cartographer",
    }
    await kubectlOk(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "test-environment-agent-k8s", namespace: "flows", labels: poolLabels },
        rules: [{ apiGroups: ["batch"], resources: ["jobs"], verbs: ["create"] }],
      }),
    )
    // The Workspace is re-applied (the previous test deleted it): its retained volume and Secret are found again.
    await kubectlOk(["apply", "-f", join(unpacked, "samples", "basic-workspace.yaml")])
    const dryRun = await uninstall(["--dry-run"])
    expect(dryRun.code, dryRun.stderr).toBe(0)
    expect(dryRun.stdout).toContain("would delete customresourcedefinition/workspaces.mlops.aigency.com")
    expect((await kubectl(["get", "workspace", "test-environment", "-n", "default"])).code).toBe(0)

    const result = await uninstall([])
    expect(result.code, `${result.stdout}${result.stderr}`).toBe(0)
    expect(result.stdout).toContain("kept persistentvolumeclaim/default/test-environment-orion-database-pvc")
    expect(result.stdout).toContain("kept persistentvolumeclaim/default/test-environment-orion-database-backup")
    expect(result.stdout).toContain("kept secret/default/test-environment-environment-secrets")
    expect((await kubectl(["get", "role", "test-environment-agent-k8s", "-n", "flows"])).code).not.toBe(0)
    const ours = async () => {
      const cluster = await kubectl([
        "get",
        "crd,clusterroles,clusterrolebindings,namespaces",
        "-l",
        "app.kubernetes.io/part-of=cartographer",
        "-o",
        "name",
      ])
      const namespaced = await kubectl([
        "get",
        "deployments,statefulsets,replicasets,jobs,pods,services,serviceaccounts,secrets,persistentvolumeclaims,configmaps,roles,rolebindings,networkpolicies,ingresses,poddisruptionbudgets",
        "-A",
        "-l",
        "mlops.aigency.com/environment=test-environment",
        "-o",
        "name",
      ])
      return [...cluster.stdout.split("\n"), ...namespaced.stdout.split("\n")].filter(Boolean).sort()
    }
    // uninstall returned once everything was gone: nothing to wait for.
    const left = await ours()
    expect(left).toEqual([
      "persistentvolumeclaim/test-environment-orion-database-backup",
      "persistentvolumeclaim/test-environment-orion-database-pvc",
      "secret/test-environment-environment-secrets",
    ])
    expect((await kubectl(["get", "namespace", system])).code).not.toBe(0)
    expect((await kubectl(["get", "crd", "workspaces.mlops.aigency.com"])).code).not.toBe(0)
  }, 300_000)
})
