// End to end with real Prefect 3 on the real node: samples/basic-workspace.yaml, reconciled by the operator
// (`cartographer run`, as the install's ClusterRole allows it), its pods run by kubelet and containerd from the images
// built here, in a namespace that enforces the restricted Pod Security profile. The steps build on each other, in order.
import { mkdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, expect, it } from "vitest"
import { parse } from "yaml"
import { describeOnRealNode, type KubeApi, kubectl } from "../harness/index.js"
import { toolboxReference } from "../node/images.js"
import { capturePage, chromiumPath } from "./browser.js"
import {
  childKinds,
  completedJob,
  componentLabel,
  containerLogs,
  type Deployment,
  environmentLabel,
  isComplete,
  isReady,
  type Job,
  listChildren,
  type Pod,
} from "./cluster.js"
import { minutes, useOperatorSuite } from "./operatorSuite.js"
import { prefectApi } from "./prefect.js"

const sample = fileURLToPath(new URL("../../samples/basic-workspace.yaml", import.meta.url))
const artifacts = fileURLToPath(new URL("./artifacts", import.meta.url))
const workspace = "test-environment"
const env = `${environmentLabel}=${workspace}`

describeOnRealNode("a Workspace from samples/basic-workspace.yaml, run for real on the real node", () => {
  const suite = useOperatorSuite("e2e-workspace")
  const { namespace, until } = suite
  /** Where the kubernetes pool's flow-run Jobs go once its job namespace changes. */
  const movedJobs = `${namespace}-jobs`
  let api: KubeApi
  /** The server's address as the host reaches it: a Ready pod behind its Service. */
  const serverUrl = () => suite.endpoint(`${workspace}-orion-server`, "http-orion")
  const server = async () => prefectApi(await serverUrl())
  /** `kubectl patch` of the sample Workspace, as a user would change it. */
  const patchWorkspace = (type: "json" | "merge", patch: unknown) => suite.patchWorkspace(workspace, type, patch)
  const workerLog = (pool: string) => containerLogs(namespace, `${env},mlops.aigency.com/pool=${pool}`, "agent")

  beforeAll(async () => {
    api = suite.api()
    await suite.apply(await readFile(sample, "utf8"))
  }, minutes(2))

  afterAll(async () => {
    await kubectl(["delete", "namespace", movedJobs, "--ignore-not-found", "--wait=false"])
  }, minutes(3))

  it(
    "runs the database migration Job to completion before any server pod starts",
    async () => {
      const job = await until("the migration Job completes", async () => {
        const jobs = await listChildren<Job>(api, namespace, "jobs", `${env},${componentLabel}=migration`)
        return jobs.find(isComplete)
      })
      const servers = await until("a server pod exists", async () => {
        const pods = await listChildren<Pod>(api, namespace, "pods", `${env},${componentLabel}=server`)
        return pods.length > 0 ? pods : undefined
      })
      const completed = Date.parse(job.status?.completionTime ?? "")
      for (const pod of servers) {
        expect(Date.parse(pod.metadata.creationTimestamp ?? "")).toBeGreaterThanOrEqual(completed - 1_000)
      }
    },
    minutes(15),
  )

  it(
    "brings the server to Ready, and its /api/health answers true",
    async () => {
      await until("the server Deployment is ready", async () => {
        const [deployment] = await listChildren<Deployment>(
          api,
          namespace,
          "deployments",
          `${env},${componentLabel}=server`,
        )
        return (deployment?.status?.readyReplicas ?? 0) >= 1 ? deployment : undefined
      })
      expect(await (await server()).health()).toBe(true)
    },
    minutes(10),
  )

  it(
    "lets only the server and the migration reach Postgres: a pod without their labels is refused (NetworkPolicy)",
    async () => {
      const probe = (name: string, labels: Record<string, string>, tries: number) => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          securityContext: { runAsUser: 1001, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "probe",
              image: toolboxReference,
              // A TCP connection (bash's /dev/tcp), up to `tries` attempts a second apart: kube-router admits a new
              // pod once it has learnt its address.
              command: [
                "sh",
                "-c",
                `for i in $(seq ${tries}); do timeout 3 bash -c 'exec 3<>/dev/tcp/${workspace}-orion-database/5432' 2>/dev/null && echo reached && exit 0; sleep 1; done; echo refused`,
              ],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      })
      const migrationLabels = { [environmentLabel]: workspace, [componentLabel]: "migration" }
      const applied = await kubectl(["apply", "-n", namespace, "-f", "-"], {
        input: JSON.stringify({
          apiVersion: "v1",
          kind: "List",
          // The stranger tries as long as the migration-labelled pod may need to be admitted: still refused.
          items: [probe("np-stranger", { app: "stranger" }, 20), probe("np-migration", migrationLabels, 20)],
        }),
      })
      expect(applied.code, applied.stderr).toBe(0)
      const verdict = (pod: string) =>
        until(`${pod} finishes`, async () => {
          const phase = await kubectl(["get", "pod", pod, "-n", namespace, "-o", "jsonpath={.status.phase}"])
          if (phase.stdout !== "Succeeded") return undefined
          return (await kubectl(["logs", "-n", namespace, pod])).stdout.trim().split("\n").at(-1)
        })
      try {
        expect(await verdict("np-migration")).toBe("reached")
        expect(await verdict("np-stranger")).toBe("refused")
      } finally {
        // They carry the Workspace's label: the deletion test below counts what is left with it.
        await kubectl(["delete", "pod", "-n", namespace, "np-stranger", "np-migration", "--wait=false"])
      }
    },
    minutes(5),
  )

  it(
    "registers every agent pool of the sample as a Prefect work pool with a healthy worker",
    async () => {
      const manifest = parse(await readFile(sample, "utf8")) as {
        spec: { workflows: { agentPools: Array<{ name: string }> } }
      }
      const pools = manifest.spec.workflows.agentPools.map((p) => p.name)
      expect(pools.length).toBeGreaterThan(0)
      for (const pool of pools) {
        const found = await until(`work pool ${pool} exists`, async () =>
          (await (await server()).workPools()).find((p) => p.name === pool),
        )
        expect(found.type).toBe("process")
        await until(`a worker of pool ${pool} is ONLINE`, async () =>
          (await (await server()).workers(pool)).find((w) => w.status === "ONLINE"),
        )
        // The worker's own health endpoint is its readiness probe: Ready means kubelet saw it answer.
        await until(`the pod of pool ${pool} is Ready`, async () => {
          const pods = await listChildren<Pod>(api, namespace, "pods", `${env},mlops.aigency.com/pool=${pool}`)
          return pods.find(isReady)
        })
      }
    },
    minutes(10),
  )

  it(
    "runs a flow deployed to the process pool to COMPLETED through the workspace's own worker",
    async () => {
      const id = await suite.deployAndRun(await serverUrl(), "default", "e2e-process")
      const run = await suite.finishedFlowRun(await serverUrl(), id)
      expect(run.state?.type, run.state?.message ?? "").toBe("COMPLETED")
      expect(await workerLog("default")).toContain(id)
    },
    minutes(12),
  )

  it(
    "shows the sample's pools on the Prefect UI's work pools page in a real browser (screenshot kept)",
    async (ctx) => {
      if (!chromiumPath()) {
        // Chromium is a Debian package CI installs; a developer machine without it skips only this check.
        ctx.skip()
      }
      await mkdir(artifacts, { recursive: true })
      const base = await serverUrl()
      // The UI calls PREFECT_UI_API_URL = http://localhost:4200/api (made for `kubectl port-forward … 4200:4200`):
      // the browser's localhost is the server pod, which listens on 4200.
      const page = await capturePage(`${base}/work-pools`, {
        screenshot: join(artifacts, "work-pools.png"),
        rendered: (dom) => dom.includes('href="/work-pools/work-pool/default"'),
        localhostIs: new URL(base).hostname,
      })
      // Each pool is a card linking to its page: rendered only from the API's answer, through the UI's API URL.
      expect(page.dom).toContain('href="/work-pools/work-pool/default"')
    },
    minutes(6),
  )

  it(
    "gives a kubernetes pool's worker the RBAC to run a flow as a Kubernetes Job (no Forbidden in its log)",
    async () => {
      await patchWorkspace("json", [
        { op: "add", path: "/spec/workflows/agentPools/-", value: { name: "jobs", type: "kubernetes" } },
      ])
      const id = await suite.deployAndRun(await serverUrl(), "jobs", "e2e-kubernetes")
      const job = await until("the worker creates a Job for the flow run", async () => {
        const jobs = await api.get<{ items: Array<Job> }>(`/apis/batch/v1/namespaces/${namespace}/jobs`)
        return jobs.items.find((j) => j.metadata.labels?.["prefect.io/flow-run-id"] === id)
      })
      expect(job.metadata.namespace).toBe(namespace)
      // A real Job pod, from the -kubernetes image, admitted by the restricted profile and run by kubelet.
      await until("the flow run's Job completes", () => completedJob(api, namespace, job.metadata.name), minutes(8))
      const run = await suite.finishedFlowRun(await serverUrl(), id)
      expect(run.state?.type, run.state?.message ?? "").toBe("COMPLETED")
      const log = await workerLog("jobs")
      expect(log).toContain(id)
      expect(log).not.toMatch(/forbidden/iu)
    },
    minutes(15),
  )

  it(
    "moves an existing kubernetes work pool to a new job namespace: its RBAC there, and its template's namespace",
    async () => {
      const created = await kubectl(["create", "namespace", movedJobs])
      expect(created.code, created.stderr).toBe(0)
      const live = await api.get<{ spec: { workflows: { agentPools: Array<{ name: string }> } } }>(
        `/apis/mlops.aigency.com/v1alpha1/namespaces/${namespace}/workspaces/${workspace}`,
      )
      const index = live.spec.workflows.agentPools.findIndex((p) => p.name === "jobs")
      expect(index).toBeGreaterThanOrEqual(0)
      await patchWorkspace("json", [
        { op: "add", path: `/spec/workflows/agentPools/${index}/jobNamespace`, value: movedJobs },
      ])
      await until("the pool's Role in the new job namespace", () =>
        api.find(
          `/apis/rbac.authorization.k8s.io/v1/namespaces/${movedJobs}/roles/${workspace}-agent-jobs.${namespace}`,
        ),
      )
      // The pool existed already, so `--base-job-template` no longer applies: the container beside the worker puts
      // the Workspace's template, with its new namespace, into it.
      await until("the work pool sends flow-run Jobs to the new namespace", async () => {
        const pool = (await (await server()).workPools()).find((p) => p.name === "jobs")
        return pool?.base_job_template?.variables?.properties?.namespace?.default === movedJobs ? pool : undefined
      })
    },
    minutes(10),
  )

  it(
    "rolls an image change out as a new migration first, then the server",
    async () => {
      // Another real image of the same Prefect: the -kubernetes flavour (built here like the default one).
      const image = "prefecthq/prefect:3.9.1-python3.12-kubernetes"
      const before = await listChildren<Job>(api, namespace, "jobs", `${env},${componentLabel}=migration`)
      await patchWorkspace("merge", { spec: { workflows: { image } } })
      const job = await until("a new migration Job completes", async () => {
        const jobs = await listChildren<Job>(api, namespace, "jobs", `${env},${componentLabel}=migration`)
        return jobs.find((j) => !before.some((b) => b.metadata.name === j.metadata.name) && isComplete(j))
      })
      const pods = await until("the server runs the new image, Ready", async () => {
        const all = await listChildren<Pod>(api, namespace, "pods", `${env},${componentLabel}=server`)
        const fresh = all.filter((p) => p.spec.containers[0]?.image === image)
        return fresh.length > 0 && fresh.every(isReady) && fresh.length === all.length ? fresh : undefined
      })
      const completed = Date.parse(job.status?.completionTime ?? "")
      for (const pod of pods) {
        expect(Date.parse(pod.metadata.creationTimestamp ?? "")).toBeGreaterThanOrEqual(completed - 1_000)
      }
      expect(await (await server()).health()).toBe(true)
    },
    minutes(15),
  )

  it(
    "leaves the retained database and backup volumes (and the credentials), and nothing else, when the Workspace is deleted",
    async () => {
      const deleted = await kubectl(["delete", "workspace", workspace, "-n", namespace, "--wait=false"])
      expect(deleted.code, deleted.stderr).toBe(0)
      // The credentials Secret stays with the volume on purpose: the retained data only opens with its password.
      const retained = new Set([
        `${workspace}-orion-database-pvc`,
        `${workspace}-orion-database-backup`,
        `${workspace}-environment-secrets`,
      ])
      const left = await until("every child but the volume and its credentials is gone", async () => {
        const names = (
          await Promise.all(
            (Object.keys(childKinds) as Array<keyof typeof childKinds>).map(async (k) =>
              (await listChildren(api, namespace, k, env)).map((o) => `${k}/${o.metadata.name}`),
            ),
          )
        ).flat()
        return names.every((n) => retained.has(n.split("/")[1] ?? "")) ? names : undefined
      })
      expect([...left].sort()).toEqual([
        `persistentvolumeclaims/${workspace}-orion-database-backup`,
        `persistentvolumeclaims/${workspace}-orion-database-pvc`,
        `secrets/${workspace}-environment-secrets`,
      ])
    },
    minutes(8),
  )

  it(
    "reuses the retained database when the sample is applied again: the earlier deployments are still there",
    async () => {
      const applied = await kubectl(["apply", "-n", namespace, "-f", sample])
      expect(applied.code, applied.stderr).toBe(0)
      const deployments = await until("the server answers with the deployments made before the deletion", async () => {
        const names = await (await server()).deployments().catch(() => undefined)
        return names?.includes("e2e-process") ? names : undefined
      })
      expect(deployments).toContain("e2e-kubernetes")
    },
    minutes(12),
  )
})
