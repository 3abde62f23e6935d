// End to end on the real node: a Workspace whose database is a team's own PostgreSQL in another namespace
// (test/e2e/teamStores.ts), reconciled by the operator as installed (`cartographer run` under the install's
// ClusterRole). The user gets the Secret wrong first (missing, then without the key), then right: the Workspace
// migrates, its server becomes Ready and runs a flow, with no Postgres of its own. Then a migration the database
// refuses (a new Secret with a wrong password): the old server keeps serving, Degraded quotes the migration pod, the
// operator retries with backoff (counted in the audit log), and the fixed Secret brings it back at once. The steps
// build on each other, in order.
import { afterAll, beforeAll, expect, it } from "vitest"
import { stringify } from "yaml"
import {
  auditSettled,
  describeOnRealNode,
  type KubeApi,
  kubectl,
  kubectlStdout as ok,
  readAudit,
  sharedControlPlane,
} from "../harness/index.js"
import {
  componentLabel,
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
import { type ExternalPostgres, externalPostgres } from "./teamStores.js"

const workspace = "ext"
const env = `${environmentLabel}=${workspace}`
const migrations = `${env},${componentLabel}=migration`

interface Condition {
  readonly type: string
  readonly status: string
  readonly reason: string
  readonly message: string
}

describeOnRealNode("a Workspace on an external PostgreSQL, run for real on the real node", () => {
  const { namespace, logs, until, ...suite } = useOperatorSuite("e2e-external-db")
  const databaseNamespace = `${namespace}-db`
  let api: KubeApi
  let postgres: ExternalPostgres

  const manifest = (secret: string) =>
    stringify({
      apiVersion: "mlops.aigency.com/v1alpha1",
      kind: "Workspace",
      metadata: { name: workspace },
      spec: {
        workflows: {
          server: { env: [{ name: "PREFECT_SERVER_ANALYTICS_ENABLED", value: "false" }] },
          database: { external: { secretRef: { name: secret } } },
          agentPools: [{ name: "default" }],
        },
      },
    })
  /** `kubectl create secret generic` as a user types it, or replaces it (`--dry-run=client -o yaml | apply`). */
  const putSecret = async (name: string, key: string, value: string) => {
    const yaml = await ok([
      "create",
      "secret",
      "generic",
      name,
      "-n",
      namespace,
      `--from-literal=${key}=${value}`,
      "--dry-run=client",
      "-o",
      "yaml",
    ])
    await ok(["apply", "-n", namespace, "-f", "-"], { input: yaml })
  }
  const live = async () =>
    api.get<{ metadata: { generation: number }; status?: { conditions?: ReadonlyArray<Condition> } }>(
      `/apis/mlops.aigency.com/v1alpha1/namespaces/${namespace}/workspaces/${workspace}`,
    )
  const conditionOf = async (type: string) => (await live()).status?.conditions?.find((c) => c.type === type)
  const untilCondition = (type: string, want: (c: Condition) => boolean, timeoutMs?: number) =>
    until(
      `${type} as expected`,
      async () => {
        const c = await conditionOf(type)
        return c !== undefined && want(c) ? c : undefined
      },
      timeoutMs,
    )
  const serverUrl = () => suite.serverUrl(workspace)
  const serverDeployment = async () =>
    (await listChildren<Deployment>(api, namespace, "deployments", `${env},${componentLabel}=server`))[0]
  const serverPods = () => listChildren<Pod>(api, namespace, "pods", `${env},${componentLabel}=server`)
  const serverSecretOf = (deployment: Deployment | undefined) =>
    (
      deployment?.spec.template.spec.containers[0] as
        | { env?: ReadonlyArray<{ name: string; valueFrom?: { secretKeyRef?: { name: string } } }> }
        | undefined
    )?.env?.find((e) => e.name === "PREFECT_SERVER_DATABASE_CONNECTION_URL")?.valueFrom?.secretKeyRef?.name
  const runFlow = async (name: string) => {
    const id = await suite.deployAndRun(await serverUrl(), "default", name)
    const run = await suite.finishedFlowRun(await serverUrl(), id)
    expect(run.state?.type, `${run.state?.message ?? ""}\n${await logs()}`).toBe("COMPLETED")
    return id
  }

  beforeAll(async () => {
    api = suite.api()
    postgres = await externalPostgres(databaseNamespace)
    // Applied before its Secret exists, as a user who reads the sample's comment too late would.
    await ok(["apply", "-n", namespace, "-f", "-"], { input: manifest("prefect-db") })
  }, minutes(10))

  afterAll(async () => {
    await kubectl(["delete", "namespace", databaseNamespace, "--ignore-not-found", "--wait=false"])
  }, minutes(3))

  it(
    "says in Degraded that the Secret does not exist, naming it and its key, and starts no migration",
    async () => {
      const degraded = await untilCondition("Degraded", (c) => c.reason === "DatabaseSecretMissing", minutes(2))
      expect(degraded.status).toBe("True")
      expect(degraded.message).toContain(`Secret prefect-db does not exist in namespace ${namespace}`)
      expect(degraded.message).toContain("create it with key connection-url")
      expect(await conditionOf("Ready")).toMatchObject({ status: "False", reason: "DatabaseSecretMissing" })
      expect(await listChildren(api, namespace, "jobs", migrations)).toEqual([])
    },
    minutes(4),
  )

  it(
    "says which key is missing, and which keys the Secret has, when it is created with the wrong key",
    async () => {
      await putSecret("prefect-db", "url", postgres.url)
      const degraded = await untilCondition("Degraded", (c) => c.message.includes("has no key"), minutes(1))
      expect(degraded).toMatchObject({
        status: "True",
        reason: "DatabaseSecretMissing",
        message:
          "spec.workflows.database.external.secretRef.key: Secret prefect-db has no key connection-url with a value (its keys: url)",
      })
      expect(await listChildren(api, namespace, "jobs", migrations)).toEqual([])
    },
    minutes(2),
  )

  it(
    "migrates the external database and brings the server to Ready once the Secret is right, with no edit of the Workspace",
    async () => {
      const generation = (await live()).metadata.generation
      await putSecret("prefect-db", "connection-url", postgres.url)
      await until("the migration Job completes", async () =>
        (await listChildren<Job>(api, namespace, "jobs", migrations)).find(isComplete),
      )
      const waited = await kubectl(
        ["wait", "-n", namespace, "--for=condition=Ready", `workspace/${workspace}`, "--timeout=8m"],
        { timeoutMs: minutes(9) },
      )
      expect(waited.code, `${waited.stderr}\n${await logs()}`).toBe(0)
      expect(await conditionOf("Degraded")).toMatchObject({ status: "False" })
      expect((await live()).metadata.generation).toBe(generation)
      expect(await prefectApi(await serverUrl()).health()).toBe(true)
      // Prefect's own tables are in the team's database.
      expect(await postgres.query("select count(*) > 0 from alembic_version")).toBe("t")
    },
    minutes(12),
  )

  it(
    "creates no Postgres, volume or database Secret of its own: the cluster holds none, and the server reads the user's Secret",
    async () => {
      const kinds = ["statefulsets", "persistentvolumeclaims", "secrets"] as const
      for (const kind of kinds) {
        expect(await listChildren(api, namespace, kind, env), kind).toEqual([])
      }
      const all = await ok(["get", "statefulsets,persistentvolumeclaims,secrets", "-n", namespace, "-o", "name"])
      expect(all.trim().split("\n").sort()).toEqual(["secret/prefect-db"])
      expect(await ok(["get", "services", "-n", namespace, "-o", "name"])).not.toContain("orion-database")
      expect(serverSecretOf(await serverDeployment())).toBe("prefect-db")
    },
    minutes(2),
  )

  it(
    "runs a flow to COMPLETED through the Workspace's worker, recorded in the external database",
    async () => {
      const id = await runFlow("e2e-external")
      expect(await postgres.query(`select state_type from flow_run where id = '${id}'`)).toBe("COMPLETED")
    },
    minutes(12),
  )

  // Set by the refused migration, read by the steps after it.
  let refusedSince: Date
  let firstFailedAt: number
  let nextAttemptAt: number
  let serverPodUids: ReadonlyArray<string> = []
  const seconds = (iso: string | undefined) => Date.parse(iso ?? "") / 1000
  const failedAt = (job: Job | undefined) =>
    seconds(
      (
        job?.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True") as
          | { lastTransitionTime?: string }
          | undefined
      )?.lastTransitionTime,
    )
  /** The Jobs the operator created since the refused migration began: server-side applies answered 201 Created. */
  const jobCreations = async () => {
    await auditSettled()
    return (
      await readAudit(sharedControlPlane().auditLogPath, {
        user: suite.identity().user,
        verbs: ["create", "patch"],
        resource: "jobs",
        namespace,
        since: refusedSince,
      })
    ).filter((e) => e.responseStatus?.code === 201)
  }

  it(
    "keeps the old server serving when the database refuses a migration, quoting the migration pod in Degraded",
    async () => {
      serverPodUids = (await serverPods()).map((p) => p.metadata.uid ?? "")
      refusedSince = new Date()
      // A rotation to a new Secret, with a mistyped password.
      await putSecret("prefect-db-rotated", "connection-url", postgres.urlWithPassword("not-the-password"))
      // A Secret change in the same second as an attempt's creation counts as a fix (ADR 0007: one extra attempt at
      // once, at most). This step is about the clock's backoff, so the Workspace refers to the Secret only once the
      // second it was written in is over.
      const written = await ok([
        "get",
        "secret",
        "prefect-db-rotated",
        "-n",
        namespace,
        "-o",
        "jsonpath={.metadata.creationTimestamp}",
      ])
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(written) + 1_000 - Date.now())))
      await ok(["apply", "-n", namespace, "-f", "-"], { input: manifest("prefect-db-rotated") })
      const degraded = await untilCondition("Degraded", (c) => c.reason === "MigrationFailed", minutes(8))
      expect(degraded.status).toBe("True")
      const [failed] = (await listChildren<Job>(api, namespace, "jobs", migrations)).filter((j) =>
        j.status?.conditions?.some((c) => c.type === "Failed" && c.status === "True"),
      )
      expect(failed).toBeDefined()
      firstFailedAt = failedAt(failed)
      // The pod's own words, from its termination message (terminationMessagePolicy: FallbackToLogsOnError).
      const terminated = await ok([
        "get",
        "pods",
        "-n",
        namespace,
        "-l",
        `job-name=${failed?.metadata.name}`,
        "-o",
        "jsonpath={range .items[*]}{.status.containerStatuses[0].state.terminated.message}{'\\n---\\n'}{end}",
      ])
      expect(terminated).toContain("password authentication failed")
      expect(degraded.message).toContain(`Job ${failed?.metadata.name} failed (attempt 1)`)
      expect(degraded.message).toContain("password authentication failed")
      expect(degraded.message).toMatch(
        /Next attempt at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, as soon as Secret prefect-db-rotated changes, or at once if you delete the Job\./u,
      )
      // The server was left as it was: same pods, still Ready, still on the old Secret, still answering.
      const pods = await serverPods()
      expect(pods.map((p) => p.metadata.uid)).toEqual(serverPodUids)
      expect(pods.every(isReady)).toBe(true)
      expect(serverSecretOf(await serverDeployment())).toBe("prefect-db")
      expect(await prefectApi(await serverUrl()).health()).toBe(true)
      expect(await conditionOf("Ready")).toMatchObject({ status: "True" })
    },
    minutes(10),
  )

  it(
    "tries the refused migration again with backoff, not in a loop: the Jobs the operator created, counted",
    async () => {
      // Attempt 2 starts a minute after attempt 1 failed; once it has failed too, attempt 3 waits two minutes.
      const second = await untilCondition(
        "Degraded",
        (c) => c.reason === "MigrationFailed" && c.message.includes("(attempt 2);"),
        minutes(8),
      )
      const retryAt = seconds(/Next attempt at (\S+),/u.exec(second.message)?.[1])
      const attempt2 = (await listChildren<Job>(api, namespace, "jobs", migrations)).find(
        (j) => j.metadata.annotations?.["mlops.aigency.com/migration-attempt"] === "2",
      )
      expect(attempt2).toBeDefined()
      expect(retryAt).toBe(failedAt(attempt2) + 120)
      // Each attempt is one Job whose pod was tried backoffLimit + 1 = 4 times, no more.
      const pods = await listChildren<Pod>(api, namespace, "pods", `job-name=${attempt2?.metadata.name}`)
      expect(pods.length).toBeLessThanOrEqual(4)
      // Watch the pause: a minute on, nothing more was created (the next step fixes the cause a minute before the
      // next attempt is due, to see the fix picked up rather than the clock).
      nextAttemptAt = retryAt
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, (retryAt - 60) * 1000 - Date.now())))
      const creations = await jobCreations()
      expect(creations.map((e) => e.objectRef?.name)).toEqual([
        expect.stringMatching(/^ext-orion-migrate-/u),
        attempt2?.metadata.name,
      ])
      // Attempt 2 was created a minute after attempt 1 failed (the audit log's time of the request).
      const waited = seconds(creations[1]?.requestReceivedTimestamp) - firstFailedAt
      expect(waited).toBeGreaterThanOrEqual(59)
      expect(waited).toBeLessThan(90)
      process.stderr.write(
        `[e2e-external-db] refused migration: ${creations.length} Jobs in ${Math.round(Date.now() / 1000 - seconds(refusedSince.toISOString()))} s; attempt 2 created ${Math.round(waited)} s after attempt 1 failed; attempt 3 due at ${new Date(retryAt * 1000).toISOString()}\n`,
      )
    },
    minutes(12),
  )

  it(
    "recovers at once when the Secret is fixed, without waiting for the next attempt: migrated, rolled out, Ready",
    async () => {
      const before = new Set((await listChildren<Job>(api, namespace, "jobs", migrations)).map((j) => j.metadata.name))
      const fixed = Date.now()
      await putSecret("prefect-db-rotated", "connection-url", postgres.url)
      const job = await until(
        "a new attempt starts",
        async () =>
          (await listChildren<Job>(api, namespace, "jobs", migrations)).find((j) => !before.has(j.metadata.name)),
        minutes(1),
      )
      const reacted = Date.now() - fixed
      expect(reacted).toBeLessThan(30_000)
      expect(Date.now() / 1000).toBeLessThan(nextAttemptAt)
      await until("the new attempt completes", async () =>
        (await listChildren<Job>(api, namespace, "jobs", migrations)).find(
          (j) => j.metadata.name === job.metadata.name && isComplete(j),
        ),
      )
      await until("the server runs on the rotated Secret, Ready", async () => {
        const deployment = await serverDeployment()
        const pods = await serverPods()
        return serverSecretOf(deployment) === "prefect-db-rotated" &&
          (deployment?.status?.readyReplicas ?? 0) >= 1 &&
          pods.length > 0 &&
          pods.every((p) => isReady(p) && !serverPodUids.includes(p.metadata.uid ?? ""))
          ? deployment
          : undefined
      })
      await untilCondition("Degraded", (c) => c.status === "False", minutes(2))
      expect(await conditionOf("Ready")).toMatchObject({ status: "True" })
      // The same data: the deployment made before is still there.
      expect(await prefectApi(await serverUrl()).deployments()).toContain("e2e-external")
      // Attempts before the successful one are pruned.
      expect((await listChildren<Job>(api, namespace, "jobs", migrations)).map((j) => j.metadata.name)).toEqual([
        job.metadata.name,
      ])
      process.stderr.write(`[e2e-external-db] fixed Secret → new attempt created in ${reacted} ms\n`)
    },
    minutes(12),
  )
})
