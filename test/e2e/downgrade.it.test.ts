// No downgrade onto a newer schema (issue 23, ADR 0010), with real Prefect and Postgres on the real node: a Workspace
// migrated by Prefect 3.9.1 is switched to an image of Prefect 3.8.8 (built here, test/node/images). The migration
// Job's guard finds the database at a revision 3.8.8 does not know, migrates nothing and fails at once; the server
// keeps running 3.9.1 and serving; the Workspace is Degraded, naming the Prefect the database needs. Switching back
// clears it.
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import {
  describeOnRealNode,
  type KubeApi,
  kubectl,
  makeKubeApi,
  type OperatorIdentity,
  operatorIdentity,
  pollUntil,
  sharedControlPlane,
  useNamespace,
  useRealNode,
} from "../harness/index.js"
import { type OperatorProcess, startOperatorProcess } from "../local/operatorProcess.js"
import { previousPrefectImage } from "../node/images/images.js"
import {
  componentLabel,
  type Deployment,
  environmentLabel,
  type Job,
  listChildren,
  type Pod,
  serviceUrl,
} from "./cluster.js"
import { prefectApi } from "./prefect.js"

const workspace = "downgrade"
const env = `${environmentLabel}=${workspace}`
const currentImage = "prefecthq/prefect:3.9.1-python3.12"
const minutes = (n: number) => n * 60_000

interface Condition {
  readonly type: string
  readonly status: string
  readonly reason: string
  readonly message: string
}

describeOnRealNode("a Workspace switched to an older Prefect than its database's schema, on the real node", () => {
  const namespace = useNamespace("e2e-downgrade")
  useRealNode(namespace, { exclusive: true })
  let api: KubeApi
  let identity: OperatorIdentity
  let operator: OperatorProcess

  const until = <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = minutes(8)) =>
    pollUntil(what, check, {
      timeoutMs,
      intervalMs: 2_000,
      describe: async () => {
        const state = await kubectl(["get", "pods,jobs,deployments,workspaces", "-n", namespace, "-o", "wide"])
        return state.stdout + state.stderr
      },
    })
  const conditions = async (): Promise<ReadonlyArray<Condition>> => {
    const got = await kubectl(["get", "workspace", workspace, "-n", namespace, "-o", "jsonpath={.status.conditions}"])
    return got.stdout === "" ? [] : (JSON.parse(got.stdout) as ReadonlyArray<Condition>)
  }
  const condition = async (type: string) => (await conditions()).find((c) => c.type === type)
  const setImage = async (image: string) => {
    const patched = await kubectl([
      "patch",
      "workspace",
      workspace,
      "-n",
      namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { workflows: { image } } }),
    ])
    expect(patched.code, patched.stderr).toBe(0)
  }
  const serverDeployment = async () =>
    (await listChildren<Deployment>(api, namespace, "deployments", `${env},${componentLabel}=server`))[0]
  const serverImage = async () => (await serverDeployment())?.spec.template.spec.containers[0]?.image

  beforeAll(async () => {
    const { kubeConfig, workDir } = sharedControlPlane()
    api = makeKubeApi(kubeConfig)
    const labelled = await kubectl(["label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"])
    expect(labelled.code, labelled.stderr).toBe(0)
    identity = await operatorIdentity(namespace)
    operator = await startOperatorProcess({
      kubeconfigPath: identity.kubeconfigPath,
      namespaces: [namespace],
      logPath: join(workDir, `e2e-${namespace}-operator.log`),
    })
    const applied = await kubectl(["apply", "-n", namespace, "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "mlops.aigency.com/v1alpha1",
        kind: "Workspace",
        metadata: { name: workspace },
        spec: {
          workflows: {
            image: currentImage,
            controllerReplicas: 1,
            databaseReplicas: 1,
            storageQuota: "1Gi",
            server: { env: [{ name: "PREFECT_SERVER_ANALYTICS_ENABLED", value: "false" }] },
            agentPools: [{ name: "default", replicas: 0 }],
          },
        },
      }),
    })
    expect(applied.code, applied.stderr).toBe(0)
  }, minutes(5))

  afterAll(async () => {
    await operator?.stop()
    await identity?.remove()
  }, minutes(3))

  it(
    "migrates a new database with Prefect 3.9.1: the guard finds nothing newer and hands over to the upgrade",
    async () => {
      await until("the Workspace is Ready", async () =>
        (await condition("Ready"))?.status === "True" ? true : undefined,
      )
      const logs = await kubectl(["logs", "-n", namespace, "-l", `${env},${componentLabel}=migration`, "--tail=-1"])
      expect(logs.stdout).toContain("database schema revision(s) known to Prefect 3.9.1; upgrading")
      expect(logs.stdout).toMatch(/Migrations succeeded|upgraded/u)
    },
    minutes(12),
  )

  it(
    "refuses Prefect 3.8.8 on it: no migration, no retry, the server keeps running 3.9.1, Degraded names Prefect 3.9.1",
    async () => {
      await setImage(previousPrefectImage)
      const degraded = await until("Degraded/DatabaseNewerThanImage", async () => {
        const c = await condition("Degraded")
        return c?.reason === "DatabaseNewerThanImage" ? c : undefined
      })
      expect(degraded.status).toBe("True")
      expect(degraded.message).toContain(
        `spec.workflows.image: ${previousPrefectImage} runs Prefect 3.8.8, whose newest database migration is ` +
          "d4a7e1c93f52, but the database is at schema revision 91e2b8f3d6a4: it needs Prefect 3.9.1 or newer.",
      )
      expect(degraded.message).toContain(`the server keeps running ${currentImage}`)

      // One pod, failed by the pod failure policy at its first attempt (not after the backoff's retries).
      const [job] = (await listChildren<Job>(api, namespace, "jobs", `${env},${componentLabel}=migration`)).filter(
        (j) => j.status?.conditions?.some((c) => c.type === "Failed" && c.status === "True"),
      )
      expect(job?.status?.conditions?.find((c) => c.type === "Failed")?.reason).toBe("PodFailurePolicy")
      const pods = await listChildren<Pod>(api, namespace, "pods", `job-name=${job?.metadata.name}`)
      expect(pods).toHaveLength(1)
      const logs = await kubectl(["logs", "-n", namespace, `job/${job?.metadata.name}`, "--tail=-1"])
      expect(logs.stdout + logs.stderr).not.toContain("Running upgrade")

      // Nothing rolled out: the server runs 3.9.1 still, Ready, and serves.
      expect(await serverImage()).toBe(currentImage)
      expect((await condition("Ready"))?.status).toBe("True")
      const url = await until("the server has a Ready endpoint", () =>
        serviceUrl(api, namespace, `${workspace}-orion-server`, "http-orion"),
      )
      expect(await prefectApi(url).health()).toBe(true)
    },
    minutes(10),
  )

  it(
    "clears the condition once the image is back on a Prefect that knows the schema",
    async () => {
      await setImage(currentImage)
      await until("Degraded is False again", async () =>
        (await condition("Degraded"))?.status === "False" ? true : undefined,
      )
      expect((await condition("Ready"))?.status).toBe("True")
      expect(await serverImage()).toBe(currentImage)
    },
    minutes(8),
  )
})
