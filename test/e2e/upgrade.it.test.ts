// Changing a Workspace's Prefect never risks its data (issue 23, ADR 0010), with real Prefect and Postgres on the real
// node. A new Workspace migrates without a backup (nothing to lose). Switched to an image of Prefect
// 3.8.8 (built here, test/node/images), it first backs the database up (a pg_dump file on the retained backup volume,
// named by time, Prefect image and schema revision), then the migration Job's guard finds the database at a revision
// 3.8.8 does not know, migrates nothing and fails at once; the server keeps running 3.9.1; the Workspace is Degraded,
// naming the Prefect the database needs. Switching back clears it. A backup that fails (its volume made unwritable on
// the node) stops the next upgrade before any migration, and the server keeps running.
import { execFile } from "node:child_process"
import { readdir } from "node:fs/promises"
import { promisify } from "node:util"
import { beforeAll, expect, it } from "vitest"
import { describeOnRealNode, type KubeApi, kubectl } from "../harness/index.js"
import { previousPrefectImage } from "../node/images/images.js"
import { componentLabel, type Deployment, environmentLabel, type Job, listChildren, type Pod } from "./cluster.js"
import { minutes, useOperatorSuite } from "./operatorSuite.js"
import { prefectApi } from "./prefect.js"

const workspace = "upgrade"
const env = `${environmentLabel}=${workspace}`
const currentImage = "prefecthq/prefect:3.9.1-python3.12"

interface Condition {
  readonly type: string
  readonly status: string
  readonly reason: string
  readonly message: string
}

const run = promisify(execFile)

describeOnRealNode("changing a Workspace's Prefect image, on the real node: backups first, no downgrade", () => {
  const suite = useOperatorSuite("e2e-upgrade")
  const { namespace } = suite
  let api: KubeApi
  const until = <A>(what: string, check: () => Promise<A | undefined>) => suite.until(what, check, minutes(8))
  const conditions = async (): Promise<ReadonlyArray<Condition>> => {
    const got = await kubectl(["get", "workspace", workspace, "-n", namespace, "-o", "jsonpath={.status.conditions}"])
    return got.stdout === "" ? [] : (JSON.parse(got.stdout) as ReadonlyArray<Condition>)
  }
  const condition = async (type: string) => (await conditions()).find((c) => c.type === type)
  const setImage = (image: string) => suite.patchWorkspace(workspace, "merge", { spec: { workflows: { image } } })
  const jobsOf = async (component: "backup" | "migration") =>
    listChildren<Job>(api, namespace, "jobs", `${env},${componentLabel}=${component}`)
  const terminationMessages = async (job: string) => {
    const pods = await listChildren<
      Pod & { status?: { containerStatuses?: ReadonlyArray<{ state?: { terminated?: { message?: string } } }> } }
    >(api, namespace, "pods", `job-name=${job}`)
    return pods.flatMap((p) => (p.status?.containerStatuses ?? []).map((c) => c.state?.terminated?.message ?? ""))
  }
  /** The backup volume's directory on the node (the harness's local provisioner). */
  const backupDirectory = async () => {
    const claim = await kubectl([
      "get",
      "pvc",
      `${workspace}-orion-database-backup`,
      "-n",
      namespace,
      "-o",
      "jsonpath={.spec.volumeName}",
    ])
    const path = await kubectl(["get", "pv", claim.stdout, "-o", "jsonpath={.spec.local.path}"])
    expect(path.stdout).not.toBe("")
    return path.stdout
  }
  const serverDeployment = async () =>
    (await listChildren<Deployment>(api, namespace, "deployments", `${env},${componentLabel}=server`))[0]
  const serverImage = async () => (await serverDeployment())?.spec.template.spec.containers[0]?.image

  beforeAll(async () => {
    api = suite.api()
    await suite.apply(
      JSON.stringify({
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
    )
  }, minutes(5))

  it(
    "migrates a new database with Prefect 3.9.1, without a backup (nothing to lose yet)",
    async () => {
      await until("the Workspace is Ready", async () =>
        (await condition("Ready"))?.status === "True" ? true : undefined,
      )
      expect(await jobsOf("backup")).toEqual([])
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
      // The backup ran first, and its file holds the 3.9.1 schema: named by time, image and revision.
      const backup = (await jobsOf("backup")).find((j) =>
        j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True"),
      )
      const message = (await terminationMessages(backup?.metadata.name ?? "")).join("\n")
      const file = /cartographer\/backup file=(\S+) bytes=(\d+)/u.exec(message)
      expect(file?.[1]).toMatch(/^\d{8}T\d{6}Z-prefect-3\.9\.1-python3\.12-91e2b8f3d6a4\.dump$/u)
      expect(Number(file?.[2])).toBeGreaterThan(10_000)
      expect(await readdir(await backupDirectory())).toEqual([file?.[1]])
      const [migration] = await jobsOf("migration")
      expect(Date.parse(migration?.metadata.creationTimestamp ?? "")).toBeGreaterThanOrEqual(
        Date.parse(backup?.status?.completionTime ?? "") - 1_000,
      )
      expect(degraded.status).toBe("True")
      expect(degraded.message).toContain(
        `spec.workflows.image: ${previousPrefectImage} runs Prefect 3.8.8, whose newest database migration is ` +
          "d4a7e1c93f52, but the database is at schema revision 91e2b8f3d6a4: it needs Prefect 3.9.1 or newer.",
      )
      expect(degraded.message).toContain(`the server keeps running ${currentImage}`)

      // One pod, failed by the pod failure policy at its first attempt (not after the backoff's retries).
      const [job] = (await jobsOf("migration")).filter((j) =>
        j.status?.conditions?.some((c) => c.type === "Failed" && c.status === "True"),
      )
      expect(job?.status?.conditions?.find((c) => c.type === "Failed")?.reason).toBe("PodFailurePolicy")
      const pods = await listChildren<Pod>(api, namespace, "pods", `job-name=${job?.metadata.name}`)
      expect(pods).toHaveLength(1)
      const logs = await kubectl(["logs", "-n", namespace, `job/${job?.metadata.name}`, "--tail=-1"])
      expect(logs.stdout + logs.stderr).not.toContain("Running upgrade")

      // Nothing rolled out: the server runs 3.9.1 still, Ready, and serves.
      expect(await serverImage()).toBe(currentImage)
      expect((await condition("Ready"))?.status).toBe("True")
      const url = await suite.serverUrl(workspace)
      expect(await prefectApi(url).health()).toBe(true)
    },
    minutes(10),
  )

  it(
    "clears the condition once the image is back on a Prefect that knows the schema",
    async () => {
      await setImage(currentImage)
      // The 3.8.8 Jobs are pruned (the 3.9.1 migration Job went when 3.8.8's was planned; the server's annotation,
      // not a Job, records that 3.9.1's migration is done).
      await until("the 3.8.8 Jobs are pruned", async () =>
        (await jobsOf("backup")).length === 0 && (await jobsOf("migration")).length === 0 ? true : undefined,
      )
      await until("Degraded is False again", async () =>
        (await condition("Degraded"))?.status === "False" ? true : undefined,
      )
      expect((await condition("Ready"))?.status).toBe("True")
      expect(await serverImage()).toBe(currentImage)
    },
    minutes(8),
  )

  it(
    "stops an upgrade whose backup fails: no migration Job, the server keeps running, Degraded/BackupFailed with pg_dump's error",
    async () => {
      // The backup volume made unwritable on the node (kubelet leaves a volume whose root already fits fsGroup alone).
      const directory = await backupDirectory()
      await run("chattr", ["+i", directory])
      try {
        await setImage(previousPrefectImage)
        const degraded = await until("Degraded/BackupFailed", async () => {
          const c = await condition("Degraded")
          return c?.reason === "BackupFailed" ? c : undefined
        })
        expect(degraded.message).toContain(`nothing was migrated and the server keeps running ${currentImage}`)
        expect(degraded.message).toMatch(
          /pg_dump: error: could not open output file .*Permission denied|Operation not permitted/u,
        )
        expect(await jobsOf("migration")).toEqual([])
        expect(await serverImage()).toBe(currentImage)
        expect((await condition("Ready"))?.status).toBe("True")
      } finally {
        await run("chattr", ["-i", directory])
        await setImage(currentImage)
      }
    },
    minutes(10),
  )
})
