// End to end with real Prefect 3.9.1 on the real node: samples/high-availability-workspace.yaml as shipped — two API
// replicas behind the server's Service, Prefect's background services in a pod of their own, Redis with a password
// that only the Workspace's own pods may reach (kube-router enforces the NetworkPolicy) — in a namespace that
// enforces the restricted Pod Security profile. A flow run completes, and losing a server pod loses no flow run.
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { beforeAll, expect, it } from "vitest"
import { stringify } from "yaml"
import { describeOnRealNode, kubectl } from "../harness/index.js"
import { toolboxReference } from "../node/images.js"
import { type Deployment, isReady, listChildren, type Pod } from "./cluster.js"
import { minutes, useOperatorSuite } from "./operatorSuite.js"
import { prefectApi } from "./prefect.js"

const sample = fileURLToPath(new URL("../../samples/high-availability-workspace.yaml", import.meta.url))
const workspace = "prod"
const env = `mlops.aigency.com/environment=${workspace}`
const component = (name: string) => `${env},mlops.aigency.com/component=${name}`
const redis = `${workspace}-orion-redis`

/** Runs `python -c <code>` in a pod's container (its own image and environment); its output, or the failure. */
const pythonIn = async (namespace: string, pod: string, container: string, code: string) => {
  const ran = await kubectl(["exec", "-n", namespace, pod, "-c", container, "--", "python", "-c", code])
  return { ok: ran.code === 0, output: `${ran.stdout}${ran.stderr}`.trim() }
}

/** Connects to the in-cluster Redis with the Workspace's settings, with or without the password. */
const redisPing = (withPassword: boolean) =>
  [
    "import os, redis",
    `password = os.environ["PREFECT_REDIS_MESSAGING_PASSWORD"] if ${withPassword ? "True" : "False"} else None`,
    'client = redis.Redis(host=os.environ["PREFECT_REDIS_MESSAGING_HOST"], port=6379, password=password, socket_timeout=5)',
    "try:",
    "    print('PONG' if client.ping() else 'no answer')",
    "except Exception as error:",
    "    print(type(error).__name__, error)",
  ].join("\n")

describeOnRealNode("samples/high-availability-workspace.yaml, run for real on the real node", () => {
  const suite = useOperatorSuite("e2e-ha")
  const { namespace, until } = suite
  const pods = (name: string) => listChildren<Pod>(suite.api(), namespace, "pods", component(name))
  const base = () => suite.endpoint(`${workspace}-orion-server`, "http-orion")
  const allCompleted = (ids: ReadonlyArray<string>) =>
    until(
      `flow runs ${ids.join(", ")} complete`,
      async () => {
        const api = prefectApi(await base())
        const runs = await Promise.all(ids.map((id) => api.flowRun(id).catch(() => undefined)))
        const final = runs.filter((r) => ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"].includes(r?.state?.type ?? ""))
        return final.length === ids.length ? final : undefined
      },
      minutes(10),
    )

  beforeAll(async () => suite.apply(await readFile(sample, "utf8")), minutes(2))

  it(
    "runs two API replicas behind the Service and one background services pod, all Ready, with a disruption budget",
    async () => {
      const servers = await until(
        "two Ready server pods",
        async () => {
          const ready = (await pods("server")).filter(isReady)
          return ready.length === 2 ? ready : undefined
        },
        minutes(20),
      )
      expect(new Set(servers.map((p) => p.metadata.name)).size).toBe(2)
      // Both started together on a fresh database, and neither had to be restarted (block types are registered once,
      // by the migration Job, not raced for by the replicas).
      const restarts = servers.map(
        (p) =>
          (p as { status?: { containerStatuses?: Array<{ restartCount?: number }> } }).status?.containerStatuses?.[0]
            ?.restartCount,
      )
      expect(restarts).toEqual([0, 0])
      const [services] = await listChildren<Deployment>(suite.api(), namespace, "deployments", component("services"))
      expect(services?.metadata.name).toBe(`${workspace}-orion-services`)
      await until("the background services pod runs", async () => (await pods("services")).find(isReady))
      const slices = await suite
        .api()
        .get<{ items: Array<{ endpoints?: Array<{ conditions?: { ready?: boolean } }> }> }>(
          `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${workspace}-orion-server`)}`,
        )
      expect(slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready === true)).toHaveLength(2)
      const budget = await suite
        .api()
        .get<{ status?: { currentHealthy?: number; desiredHealthy?: number } }>(
          `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets/${workspace}-orion-server`,
        )
      expect(budget.status?.desiredHealthy).toBe(1)
    },
    minutes(25),
  )

  it(
    "keeps Redis behind its password and its NetworkPolicy: the API replicas and the services pod reach it, others do not",
    async () => {
      for (const [name, container] of [
        ["server", "orion-server"],
        ["services", "orion-services"],
      ] as const) {
        const pod = (await pods(name)).find(isReady) ?? (await pods(name))[0]
        expect(pod, name).toBeDefined()
        const authenticated = await pythonIn(namespace, pod?.metadata.name ?? "", container, redisPing(true))
        expect(authenticated.output, name).toBe("PONG")
        const anonymous = await pythonIn(namespace, pod?.metadata.name ?? "", container, redisPing(false))
        expect(anonymous.output, name).toMatch(/AuthenticationError|NOAUTH/u)
      }
      // A pod without the Workspace's labels: it reaches the server (the network works) but not Redis.
      const probe = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "outsider", labels: { app: "outsider" } },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          securityContext: { runAsUser: 1001, runAsGroup: 1001, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "main",
              image: toolboxReference,
              imagePullPolicy: "IfNotPresent",
              command: [
                "sh",
                "-c",
                // Busybox: wget for HTTP; nc sends PING, and Redis, when reachable, answers -NOAUTH (never PONG).
                `timeout 5 wget -q -O - http://${workspace}-orion-server:4200/api/health && echo " server-open"; ` +
                  `printf 'PING\r\n' | timeout 5 nc ${redis} 6379; echo "redis-exit $?"; echo done`,
              ],
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
            },
          ],
        },
      }
      await suite.apply(stringify(probe))
      const log = await until("the outsider pod has tried both", async () => {
        const got = await kubectl(["logs", "-n", namespace, "outsider"])
        return got.code === 0 && got.stdout.includes("done") ? got.stdout : undefined
      })
      expect(log).toContain("true server-open")
      expect(log).toContain("redis-exit")
      expect(log).not.toContain("NOAUTH")
    },
    minutes(10),
  )

  it(
    "completes flow runs, and loses none when a server pod is deleted while they run; the Workspace returns to Ready",
    async () => {
      const url = await base()
      const first = await suite.deployAndRun(url, "default", "e2e-ha")
      const api = prefectApi(url)
      const runs = [first, ...(await Promise.all([1, 2, 3].map(() => api.runDeployment("e2e-ha"))))]
      const [victim] = (await pods("server")).filter(isReady)
      const deleted = await kubectl(["delete", "pod", "-n", namespace, victim?.metadata.name ?? "", "--wait=false"])
      expect(deleted.code, deleted.stderr).toBe(0)
      const final = await allCompleted(runs)
      expect(final.map((r) => r?.state?.type)).toEqual(runs.map(() => "COMPLETED"))
      await until(
        "the Workspace is Ready with two server pods again",
        async () => {
          const ready = await suite.workspaceReady(workspace)
          const servers = (await pods("server")).filter(isReady)
          return ready && servers.length === 2 && !servers.some((p) => p.metadata.name === victim?.metadata.name)
            ? servers
            : undefined
        },
        minutes(10),
      )
    },
    minutes(25),
  )
})
