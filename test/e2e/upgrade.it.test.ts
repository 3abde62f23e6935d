// Changing a Workspace's Prefect never risks its data (issue 23, ADRs 0010 and 0011), with real Prefect and Postgres
// on the real node. A new Workspace on Prefect 3.8.8 (built here, test/node/images) migrates without a backup (nothing
// to lose), and flow runs enter its history. Its scheduled backups' CronJob, run by hand as `kubectl create job
// --from=cronjob/...` does, writes pg_dump files named by time and Prefect image, reported in status.lastBackup.
// Upgraded to 3.9.1, it first backs the 3.8.8 database up (the backups keep 2 files), then migrates. Switched back to
// 3.8.8, it backs up again, then the migration Job's guard finds the database at a revision 3.8.8 does not know,
// migrates nothing and fails at once; the server keeps running 3.9.1; the Workspace is Degraded, naming the Prefect the
// database needs. Switching back clears it. A backup that fails (its volume made unwritable on the node) stops the
// next upgrade before any migration. Last, the Workspace is deleted, and a fresh one on 3.8.8 restores the backup
// taken before the upgrade from the retained volume: the flow runs from before the upgrade are there.
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
/** The newest database migration of Prefect 3.8.8 and of 3.9.1 (schemaGuard.ts's verified heads). */
const previousHead = "d4a7e1c93f52"
const currentHead = "91e2b8f3d6a4"
const keep = 2
/** Flow runs in the history before the upgrade, found again after the restore. */
const history = ["before-upgrade-1", "before-upgrade-2"]

interface LastBackup {
  readonly file: string
  readonly time: string
}

/** A Workspace of this suite: one server, pools at 0 (no flow runs execute), no phoning home. */
const manifest = (name: string, image: string, database: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: "mlops.aigency.com/v1alpha1",
    kind: "Workspace",
    metadata: { name },
    spec: {
      workflows: {
        image,
        controllerReplicas: 1,
        databaseReplicas: 1,
        storageQuota: "1Gi",
        database,
        server: { env: [{ name: "PREFECT_SERVER_ANALYTICS_ENABLED", value: "false" }] },
        agentPools: [{ name: "default", replicas: 0 }],
      },
    },
  })

/** Prefect's REST API for what these tests need of the history: a flow's runs, created and found by name. */
const flowRuns = (url: string) => {
  const call = async <A>(path: string, body: unknown): Promise<A> => {
    const response = await fetch(`${url}/api${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`POST ${path}: HTTP ${response.status} ${text.slice(0, 300)}`)
    return JSON.parse(text) as A
  }
  return {
    record: async (names: ReadonlyArray<string>) => {
      const flow = await call<{ readonly id: string }>("/flows/", { name: "upgrade-history" })
      for (const name of names)
        await call("/flow_runs/", { flow_id: flow.id, name, state: { type: "COMPLETED", name: "Completed" } })
    },
    find: async (names: ReadonlyArray<string>) =>
      (
        await call<ReadonlyArray<{ readonly name: string; readonly state_type: string }>>("/flow_runs/filter", {
          flow_runs: { name: { any_: names } },
        })
      )
        .map((run) => `${run.name} ${run.state_type}`)
        .sort(),
  }
}

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
  const statusOf = async <A>(field: string, name = workspace): Promise<A | undefined> => {
    const got = await kubectl(["get", "workspace", name, "-n", namespace, "-o", `jsonpath={.status.${field}}`])
    return got.stdout === "" ? undefined : (JSON.parse(got.stdout) as A)
  }
  const condition = async (type: string, name = workspace) =>
    ((await statusOf<ReadonlyArray<Condition>>("conditions", name)) ?? []).find((c) => c.type === type)
  const lastBackup = () => statusOf<LastBackup>("lastBackup")
  const backupFiles = async () => (await readdir(await backupDirectory())).filter((f) => !f.startsWith("."))
  const setImage = (image: string) => suite.patchWorkspace(workspace, "merge", { spec: { workflows: { image } } })
  /** The Workspace's own Jobs of a component (not the Jobs of its scheduled backups' CronJob). */
  const jobsOf = async (component: "backup" | "migration") =>
    (await listChildren<Job>(api, namespace, "jobs", `${env},${componentLabel}=${component}`)).filter((j) =>
      j.metadata.name.startsWith(`${workspace}-orion-`),
    )
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
    await suite.apply(manifest(workspace, previousPrefectImage, { backup: { schedule: "0 3 * * *", keep } }))
  }, minutes(5))

  it(
    "migrates a new database with Prefect 3.8.8, without a backup (nothing to lose yet); flow runs enter its history",
    async () => {
      await until("the Workspace is Ready", async () =>
        (await condition("Ready"))?.status === "True" ? true : undefined,
      )
      expect(await jobsOf("backup")).toEqual([])
      const logs = await kubectl(["logs", "-n", namespace, "-l", `${env},${componentLabel}=migration`, "--tail=-1"])
      expect(logs.stdout).toContain("database schema revision(s) known to Prefect 3.8.8; upgrading")
      const url = await suite.serverUrl(workspace)
      await flowRuns(url).record(history)
      expect(await flowRuns(url).find(history)).toEqual(history.map((name) => `${name} COMPLETED`))
    },
    minutes(12),
  )

  it(
    "backs it up on its schedule: each Job of the CronJob writes one file named by time and Prefect, status.lastBackup names the latest",
    async () => {
      const cronJob = await kubectl(["get", "cronjob", `${workspace}-orion-backups`, "-n", namespace, "-o", "json"])
      expect(cronJob.code, cronJob.stderr).toBe(0)
      const spec = (JSON.parse(cronJob.stdout) as { spec: Record<string, unknown> }).spec
      expect(spec).toMatchObject({ schedule: "0 3 * * *", timeZone: "Etc/UTC", concurrencyPolicy: "Forbid" })
      const files: Array<string> = []
      for (const run of ["scheduled-1", "scheduled-2"]) {
        const created = await kubectl([
          "create",
          "job",
          run,
          `--from=cronjob/${workspace}-orion-backups`,
          "-n",
          namespace,
        ])
        expect(created.code, created.stderr).toBe(0)
        const last = await until(`the status names ${run}'s backup`, async () => {
          const seen = await lastBackup()
          return seen !== undefined && !files.includes(seen.file) ? seen : undefined
        })
        expect(last.file).toMatch(
          new RegExp(`^\\d{8}T\\d{6}Z-prefect-3\\.8\\.8-python3\\.12-${previousHead}\\.dump$`, "u"),
        )
        expect(Math.abs(Date.parse(last.time) - Date.now())).toBeLessThan(minutes(5))
        files.push(last.file)
      }
      expect(await backupFiles()).toEqual(files)
      // Not Degraded: a backup that succeeded is no news.
      expect((await condition("Degraded"))?.status).toBe("False")
    },
    minutes(6),
  )

  it(
    "upgrades it to Prefect 3.9.1 only after a backup of the 3.8.8 database; the backups keep 2 files",
    async () => {
      const scheduled = await backupFiles()
      await setImage(currentImage)
      await until("the server runs 3.9.1 and is Ready", async () =>
        (await serverImage()) === currentImage && (await condition("Ready"))?.status === "True" ? true : undefined,
      )
      // The file holds the database as 3.8.8 left it: taken before the migration ran.
      const backup = await lastBackup()
      expect(backup?.file).toMatch(new RegExp(`-prefect-3\\.8\\.8-python3\\.12-${previousHead}\\.dump$`, "u"))
      const created = (await jobsOf("migration")).map((j) => Date.parse(j.metadata.creationTimestamp ?? ""))
      expect(Math.max(...created)).toBeGreaterThanOrEqual(Date.parse(backup?.time ?? ""))
      // Pruned to `keep` by the backup itself: the oldest scheduled file went.
      expect(await backupFiles()).toEqual([scheduled[1], backup?.file])
      expect(await flowRuns(await suite.serverUrl(workspace)).find(history)).toHaveLength(history.length)
    },
    minutes(10),
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
      expect(file?.[1]).toMatch(
        new RegExp(`^\\d{8}T\\d{6}Z-prefect-3\\.9\\.1-python3\\.12-${currentHead}\\.dump$`, "u"),
      )
      expect(Number(file?.[2])).toBeGreaterThan(10_000)
      const files = await backupFiles()
      expect(files).toHaveLength(keep)
      expect(files.at(-1)).toBe(file?.[1])
      expect((await lastBackup())?.file).toBe(file?.[1])
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

  it(
    "restores the backup taken before the upgrade into a fresh Workspace on Prefect 3.8.8: the old flow runs are there",
    async () => {
      const before = (await backupFiles()).find((f) => f.endsWith(`-prefect-3.8.8-python3.12-${previousHead}.dump`))
      expect(before).toBeDefined()
      // The Workspace goes (the node has room for one at a time); its backup volume is retained.
      const deleted = await kubectl(["delete", "workspace", workspace, "-n", namespace, "--timeout=3m"])
      expect(deleted.code, deleted.stderr).toBe(0)
      await until("the deleted Workspace's pods are gone", async () =>
        (await listChildren<Pod>(api, namespace, "pods", env)).length === 0 ? true : undefined,
      )
      const restored = "restored"
      const claimName = `${workspace}-orion-database-backup`
      // A claim that does not exist is reported at restoreFrom's path; correcting it makes a new restore Job.
      await suite.apply(
        manifest(restored, previousPrefectImage, { restoreFrom: { claimName: "no-such-claim", file: before } }),
      )
      const stuck = await until("the missing claim is reported", async () => {
        const c = await condition("Degraded", restored)
        return c?.reason === "PodsFailing" && c.message.includes("spec.workflows.database.restoreFrom") ? c : undefined
      })
      expect(stuck.message).toContain("no-such-claim")
      await suite.apply(manifest(restored, previousPrefectImage, { restoreFrom: { claimName, file: before } }))
      // The restore Job runs before the migration and says what it restored (it is pruned once the migration is done).
      const said = new Set<string>()
      await until("the restored Workspace is Ready", async () => {
        const [job] = await listChildren<Job>(
          api,
          namespace,
          "jobs",
          `${environmentLabel}=${restored},${componentLabel}=restore`,
        )
        if (job?.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True"))
          for (const message of await terminationMessages(job.metadata.name)) said.add(message.trim())
        return (await condition("Ready", restored))?.status === "True" ? true : undefined
      })
      expect([...said]).toContainEqual(`cartographer/restore file=${before} claim=${claimName}`)
      const url = await suite.serverUrl(restored)
      expect(await flowRuns(url).find(history)).toEqual(history.map((name) => `${name} COMPLETED`))
      expect((await condition("Degraded", restored))?.status).toBe("False")
    },
    minutes(12),
  )
})
