// `npm start` on a machine without a cluster, as a first-time user runs it: its own one-node cluster, install/ with
// the operator's pods from the image built from this checkout, the sample Workspace, and the Prefect UI at the URL it
// prints (a `kubectl port-forward`), looked at in a real browser. Then Ctrl-C, which must leave nothing running.
import { existsSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, expect, it } from "vitest"
import {
  describeOnRealNode,
  pollUntil,
  readAudit,
  runKubectl,
  type StartedProcess,
  sharedControlPlane,
  start,
  useRealNodeTurn,
} from "../harness/index.js"
import { run } from "../node/sandbox.js"
import { capturePage, chromiumPath } from "./browser.js"
import { prefectApi } from "./prefect.js"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
const artifacts = fileURLToPath(new URL("./artifacts", import.meta.url))
const minutes = (n: number) => n * 60_000

describeOnRealNode("npm start with no cluster", () => {
  useRealNodeTurn()
  let npmStart: StartedProcess
  let output = ""
  let uiUrl: string
  let kubeconfig: string
  let node: string
  const tail = () => output.split("\n").slice(-40).join("\n")

  beforeAll(async () => {
    // What `npm start` runs, killed with this test process if it dies.
    npmStart = start(process.execPath, ["test/local/run-ts.mjs", "test/local/start.ts"], { cwd: repoRoot })
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
    }
    npmStart.child.stdout?.on("data", collect)
    npmStart.child.stderr?.on("data", collect)
    const found = await pollUntil(
      "npm start prints the Prefect UI's URL",
      async () => {
        const url = /Prefect UI of test-environment: (http:\/\/localhost:\d+)/u.exec(output)?.[1]
        const config = /export KUBECONFIG=(\S+)/u.exec(output)?.[1]
        const nodeName = /cluster ready: node (\S+)/u.exec(output)?.[1]
        return url && config && nodeName ? { url, config, nodeName } : undefined
      },
      {
        timeoutMs: minutes(20),
        intervalMs: 1_000,
        describe: tail,
        abort: () => (npmStart.running() ? undefined : "npm start exited"),
      },
    )
    uiUrl = found.url
    kubeconfig = found.config
    node = found.nodeName
  }, minutes(22))

  afterAll(async () => {
    await npmStart?.stop(60_000, "SIGINT")
  }, minutes(2))

  it("prints a URL where the Prefect server of test-environment answers", async () => {
    expect(await prefectApi(uiUrl).health()).toBe(true)
  })

  it(
    "runs the operator from install/ as pods of its Deployment, as kubectl shows them",
    async () => {
      const { kubectlPath } = sharedControlPlane()
      const pods = await pollUntil(
        "the operator's pods are Running",
        async () => {
          const r = await runKubectl(kubectlPath, kubeconfig, [
            "get",
            "pods",
            "-n",
            "cartographer-system",
            "-l",
            "app.kubernetes.io/name=cartographer",
            "-o",
            "jsonpath={range .items[*]}{.status.phase}{' '}{end}",
          ])
          const phases = r.stdout.trim().split(/\s+/u).filter(Boolean)
          return phases.length > 0 && phases.every((p) => p === "Running") ? phases : undefined
        },
        { timeoutMs: minutes(3), intervalMs: 2_000, describe: tail },
      )
      expect(pods.length).toBeGreaterThan(0)
    },
    minutes(4),
  )

  it(
    "shows the sample's pool on the UI's work pools page in a real browser (screenshot kept)",
    async (ctx) => {
      if (!chromiumPath()) ctx.skip()
      await pollUntil(
        "the worker has created work pool default",
        async () => ((await prefectApi(uiUrl).workPools()).some((p) => p.name === "default") ? true : undefined),
        { timeoutMs: minutes(5), intervalMs: 2_000, describe: tail },
      )
      const screenshot = join(artifacts, "npm-start-work-pools.png")
      await mkdir(dirname(screenshot), { recursive: true })
      const page = await capturePage(`${uiUrl}/work-pools`, {
        screenshot,
        rendered: (dom) => dom.includes('href="/work-pools/work-pool/default"'),
      })
      // A pool is a card linking to its page, rendered from the API's answer at the UI's configured API URL.
      expect(page.dom).toContain('href="/work-pools/work-pool/default"')
      expect(existsSync(screenshot)).toBe(true)
    },
    minutes(8),
  )

  it(
    "runs two operator replicas of which one holds the Lease and reconciles under the install's ServiceAccount",
    async () => {
      const { kubectlPath } = sharedControlPlane()
      const get = async (args: ReadonlyArray<string>) => (await runKubectl(kubectlPath, kubeconfig, args)).stdout.trim()
      const pods = (await get(["get", "pods", "-n", "cartographer-system", "-o", "jsonpath={.items[*].metadata.name}"]))
        .split(/\s+/u)
        .filter(Boolean)
      expect(pods).toHaveLength(2)
      const holder = await get([
        "get",
        "lease",
        "cartographer-operator",
        "-n",
        "cartographer-system",
        "-o",
        "jsonpath={.spec.holderIdentity}",
      ])
      expect(pods).toContain(holder.split("_")[0])
      // The Workspace's children were written by the operator's pods, as its ServiceAccount: not by the admin.
      const audit = await readAudit(join(dirname(kubeconfig), "audit.log"))
      const writers = new Set(
        audit
          .filter((e) => e.objectRef?.resource === "deployments" && e.objectRef.namespace === "default")
          // Status is written by kube-controller-manager's deployment controller.
          .filter((e) => e.objectRef?.subresource === undefined)
          .filter((e) => ["create", "patch", "update"].includes(e.verb))
          .map((e) => e.user.username),
      )
      expect([...writers]).toEqual(["system:serviceaccount:cartographer-system:cartographer"])
    },
    minutes(2),
  )

  it(
    "hands leadership over on a rolling restart of the operator, while the Workspace stays Ready",
    async () => {
      const { kubectlPath } = sharedControlPlane()
      const kubectl = (args: ReadonlyArray<string>) => runKubectl(kubectlPath, kubeconfig, args)
      const lease = async () =>
        (
          await kubectl([
            "get",
            "lease",
            "cartographer-operator",
            "-n",
            "cartographer-system",
            "-o",
            "jsonpath={.spec.holderIdentity}",
          ])
        ).stdout.trim()
      const ready = async () =>
        (
          await kubectl([
            "get",
            "workspace",
            "test-environment",
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
          ])
        ).stdout.trim()
      const before = await lease()
      const seen = new Set<string>()
      let watching = true
      const watcher = (async () => {
        while (watching) {
          seen.add(await ready())
          await new Promise((resolve) => setTimeout(resolve, 500))
        }
      })()
      try {
        expect(
          (await kubectl(["rollout", "restart", "deployment/cartographer-operator", "-n", "cartographer-system"])).code,
        ).toBe(0)
        const status = await kubectl([
          "rollout",
          "status",
          "deployment/cartographer-operator",
          "-n",
          "cartographer-system",
          "--timeout=5m",
        ])
        expect(status.code, status.stderr).toBe(0)
        const after = await pollUntil(
          "a pod of the new ReplicaSet holds the Lease",
          async () => {
            const holder = await lease()
            const pods = (
              await kubectl(["get", "pods", "-n", "cartographer-system", "-o", "jsonpath={.items[*].metadata.name}"])
            ).stdout
            return holder !== before && pods.includes(holder.split("_")[0] ?? "-") ? holder : undefined
          },
          { timeoutMs: minutes(2), intervalMs: 1_000, describe: tail },
        )
        expect(after).not.toBe(before)
      } finally {
        watching = false
        await watcher
      }
      expect([...seen]).toEqual(["True"])
    },
    minutes(8),
  )

  it(
    "stops everything it started on Ctrl-C",
    async () => {
      npmStart.child.kill("SIGINT")
      const code = await Promise.race([
        npmStart.exited,
        new Promise((r) => setTimeout(() => r("still running"), minutes(2))),
      ])
      expect(code, tail()).toBe(0)
      // The control plane's directory (with the kubeconfig) is gone, and nothing answers at the UI's URL.
      expect(existsSync(kubeconfig)).toBe(false)
      await expect(fetch(`${uiUrl}/api/health`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow()
      // Nothing of its node is left: no cgroup (so no process, container included) and no link to the host.
      const cgroups = await run("sh", ["-c", `ls -d /sys/fs/cgroup/*/${node} 2>/dev/null || true`])
      expect(cgroups.trim()).toBe("")
      const links = await run("ip", ["-o", "link", "show"])
      expect(links).not.toContain(`cgh${node.replace("cartographer-node-", "")}`)
    },
    minutes(3),
  )
})
