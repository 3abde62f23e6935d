// End to end with real Prefect 3.9.1 on the real node: a Workspace exposed through an Ingress, with basic auth,
// metrics and a stated database retention, reconciled by the operator as shipped, in a namespace that enforces the
// restricted Pod Security profile. There is no Ingress controller here: the browser is pointed at the server's pod
// under the Ingress's host name, so the UI's API URL derived from that host is what it really calls. The steps build
// on each other, in order; the last one takes the database away and gives it back.
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, expect, it } from "vitest"
import { describeOnRealNode, kubectl } from "../harness/index.js"
import { chromiumPath } from "./browser.js"
import { openPage } from "./cdp.js"
import { isComplete, type Job, listChildren, type Pod } from "./cluster.js"
import { minutes, useOperatorSuite } from "./operatorSuite.js"
import { basicAuthHeader, prefectApi } from "./prefect.js"

const artifacts = fileURLToPath(new URL("./artifacts", import.meta.url))
const workspace = "exposed"
const host = "prefect.cartographer.test"
const env = `mlops.aigency.com/environment=${workspace}`
const secret = `${workspace}-environment-secrets`
const server = `${workspace}-orion-server`

const manifest = `
apiVersion: mlops.aigency.com/v1alpha1
kind: Workspace
metadata:
  name: ${workspace}
spec:
  workflows:
    server:
      env:
        - name: PREFECT_SERVER_ANALYTICS_ENABLED
          value: "false"
        # Prefect's vacuum looks every hour; the suite cannot wait that long to see it delete.
        - name: PREFECT_SERVER_SERVICES_DB_VACUUM_LOOP_SECONDS
          value: "15"
      ingress:
        className: nginx
        host: ${host}
      basicAuth:
        enabled: true
      metrics:
        enabled: true
      databaseLossRestartSeconds: 60
    database:
      retention:
        flowRunDays: 30
        eventDays: 14
    agentPools:
      - name: default
      - name: jobs
        type: kubernetes
`

describeOnRealNode("a Workspace behind an Ingress with basic auth, run for real on the real node", () => {
  const suite = useOperatorSuite("e2e-exposure")
  const { namespace, until } = suite
  /** The generated credentials, read from the Workspace's Secret as a user would. */
  let auth = ""
  /** The flow runs the suite completed: through the process pool, and as a kubernetes Job. */
  const completed: Array<string> = []
  const base = () => suite.endpoint(server, "http-orion")

  beforeAll(() => suite.apply(manifest), minutes(2))

  it(
    "comes up Ready with generated credentials that live only in the Workspace's Secret",
    async () => {
      await until(
        "the Workspace is Ready",
        async () => ((await suite.workspaceReady(workspace)) ? true : undefined),
        minutes(15),
      )
      auth = await suite.secretValue(secret, "auth-string")
      expect(auth).toMatch(/^admin:[A-Za-z0-9_-]{32}$/u)
      const deployments = JSON.stringify(
        await suite
          .api()
          .get(`/apis/apps/v1/namespaces/${namespace}/deployments?labelSelector=${encodeURIComponent(env)}`),
      )
      expect(deployments).not.toContain(auth.slice("admin:".length))
    },
    minutes(20),
  )

  it(
    "refuses API requests without the credentials and serves them with, while the probes' endpoints stay open",
    async () => {
      const url = await base()
      const anonymous = await fetch(`${url}/api/flows/filter`, { method: "POST", body: "{}" })
      expect(anonymous.status).toBe(401)
      const wrong = await fetch(`${url}/api/flows/filter`, { method: "POST", headers: basicAuthHeader("admin:nope") })
      expect(wrong.status).toBe(401)
      expect(await prefectApi(url, auth).deployments()).toEqual([])
      for (const path of ["/api/health", "/api/ready"]) expect((await fetch(`${url}${path}`)).status, path).toBe(200)
      // The UI's own settings are public: the API URL derived from the Ingress's host, and basic auth announced.
      const ui = (await (await fetch(`${url}/ui-settings`)).json()) as { api_url?: string; auth?: string }
      expect(ui).toMatchObject({ api_url: `http://${host}/api`, auth: "BASIC" })
      const ingress = await suite
        .api()
        .get<{ spec: { rules: Array<{ host?: string }> } }>(
          `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/${server}`,
        )
      expect(ingress.spec.rules[0]?.host).toBe(host)
    },
    minutes(5),
  )

  it(
    "serves Prometheus metrics on the Service's http-metrics port, behind the same credentials",
    async () => {
      const url = await suite.endpoint(server, "http-metrics")
      expect((await fetch(`${url}/api/metrics`)).status).toBe(401)
      const scraped = await fetch(`${url}/api/metrics`, { headers: basicAuthHeader(auth) })
      expect(scraped.status).toBe(200)
      expect(await scraped.text()).toMatch(/^process_cpu_seconds_total /mu)
    },
    minutes(5),
  )

  it(
    "runs with the stated retention: Prefect's vacuum on for flow runs and orphans, 30 days of runs, 14 of events",
    async () => {
      const settings = (await prefectApi(await base(), auth).settings()) as {
        server?: {
          services?: { db_vacuum?: { enabled?: ReadonlyArray<string>; retention_period?: unknown } }
          events?: { retention_period?: unknown }
        }
      }
      const vacuum = settings.server?.services?.db_vacuum
      expect([...(vacuum?.enabled ?? [])].sort()).toEqual(["events", "flow_runs", "orphans"])
      const days = (value: unknown) =>
        typeof value === "number" ? value / 86_400 : Number(/^P(\d+)D$/u.exec(String(value))?.[1])
      expect(days(vacuum?.retention_period)).toBe(30)
      expect(days(settings.server?.events?.retention_period)).toBe(14)
    },
    minutes(5),
  )

  it(
    "completes a flow run through the process pool and one as a kubernetes Job that reads the auth string from the Secret",
    async () => {
      const url = await base()
      const processRun = await suite.deployAndRun(url, "default", "e2e-auth-process", { auth })
      const done = await suite.finishedFlowRun(url, processRun, auth)
      expect(done.state?.type, done.state?.message ?? "").toBe("COMPLETED")
      completed.push(processRun)

      const jobRun = await suite.deployAndRun(url, "jobs", "e2e-auth-kubernetes", { auth })
      const job = await until("the worker creates a Job for the flow run", async () => {
        const jobs = await suite.api().get<{ items: Array<Job> }>(`/apis/batch/v1/namespaces/${namespace}/jobs`)
        return jobs.items.find((j) => j.metadata.labels?.["prefect.io/flow-run-id"] === jobRun)
      })
      const container = (
        job as unknown as {
          spec: { template: { spec: { containers: Array<{ env: Array<Record<string, unknown>> }> } } }
        }
      ).spec.template.spec.containers[0]
      expect(container?.env.find((e) => e.name === "PREFECT_API_AUTH_STRING")).toEqual({
        name: "PREFECT_API_AUTH_STRING",
        valueFrom: { secretKeyRef: { name: secret, key: "auth-string" } },
      })
      expect(JSON.stringify(job)).not.toContain(auth)
      await until(
        "the flow run's Job completes",
        async () => {
          const jobs = await suite.api().get<{ items: Array<Job> }>(`/apis/batch/v1/namespaces/${namespace}/jobs`)
          return jobs.items.find((j) => j.metadata.name === job.metadata.name && isComplete(j))
        },
        minutes(8),
      )
      const ran = await suite.finishedFlowRun(url, jobRun, auth)
      expect(ran.state?.type, ran.state?.message ?? "").toBe("COMPLETED")
      completed.push(jobRun)
    },
    minutes(20),
  )

  it(
    "deletes a finished flow run once it is older than the stated 30 days, and keeps a younger one",
    async () => {
      expect(completed).toHaveLength(2)
      const [old, young] = completed
      // Age them in the database, as time would: Prefect takes a run's end time from its own clock.
      const sql =
        `UPDATE flow_run SET end_time = now() - interval '40 days' WHERE id = '${old}'; ` +
        `UPDATE flow_run SET end_time = now() - interval '20 days' WHERE id = '${young}';`
      const aged = await kubectl([
        "exec",
        "-n",
        namespace,
        `${workspace}-orion-database-0`,
        "-c",
        "postgres",
        "--",
        "sh",
        "-c",
        `PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U postgres -d orion -v ON_ERROR_STOP=1 -c "${sql}"`,
      ])
      expect(aged.code, aged.stderr).toBe(0)
      expect(aged.stdout).toContain("UPDATE 1")
      const api = prefectApi(await base(), auth)
      await until(
        "Prefect's vacuum deletes the run that ended 40 days ago",
        async () => {
          const gone = await api.flowRun(old ?? "").then(
            () => false,
            (error: Error) => error.message.includes("HTTP 404"),
          )
          return gone ? true : undefined
        },
        minutes(5),
      )
      expect((await api.flowRun(young ?? "")).state?.type).toBe("COMPLETED")
    },
    minutes(8),
  )

  it(
    "shows the UI's login in a real browser, and once logged in calls the API at the URL derived from the Ingress's host",
    async (ctx) => {
      if (!chromiumPath()) ctx.skip()
      await mkdir(artifacts, { recursive: true })
      const pod = new URL(await base())
      // No Ingress controller here: the host name resolves to the server's pod, as an Ingress would route it.
      const page = await openPage({ hostResolverRules: `MAP ${host} ${pod.hostname}:${pod.port}` })
      try {
        await page.navigate(`http://${host}/`)
        await page.waitFor("document.querySelector('input[type=password]')", minutes(2))
        await page.screenshot(join(artifacts, "basic-auth-login.png"))
        // What the login form stores: the whole auth string, base64-encoded.
        await page.evaluate(
          `localStorage.setItem("prefect-password", ${JSON.stringify(Buffer.from(auth).toString("base64"))})`,
        )
        await page.navigate(`http://${host}/work-pools`)
        await page.waitFor(`document.querySelector('a[href="/work-pools/work-pool/jobs"]')`, minutes(2))
        await page.screenshot(join(artifacts, "basic-auth-work-pools.png"))
        const apiCalls = page.requests().filter((url) => new URL(url).pathname.startsWith("/api/"))
        expect(apiCalls.length).toBeGreaterThan(0)
        expect(
          apiCalls.every((url) => url.startsWith(`http://${host}/api/`)),
          apiCalls.join("\n"),
        ).toBe(true)
      } finally {
        await page.close()
      }
    },
    minutes(8),
  )

  it(
    "restarts the server once its database has been gone for databaseLossRestartSeconds, and recovers when it is back",
    async () => {
      const serverPod = async () =>
        (await listChildren<Pod>(suite.api(), namespace, "pods", `${env},mlops.aigency.com/component=server`))[0]
      const restarts = async () =>
        ((await serverPod()) as { status?: { containerStatuses?: Array<{ restartCount?: number }> } } | undefined)
          ?.status?.containerStatuses?.[0]?.restartCount ?? 0
      const before = await restarts()
      const stopped = Date.now()
      await suite.patchWorkspace(workspace, "merge", { spec: { workflows: { databaseReplicas: 0 } } })
      await until("Postgres is gone", async () => {
        const pods = await listChildren<Pod>(
          suite.api(),
          namespace,
          "pods",
          `${env},mlops.aigency.com/component=database`,
        )
        return pods.length === 0 ? true : undefined
      })
      // A database outage shorter than the tolerance must not cost a restart; /api/health alone would never notice.
      const restarted = await until(
        "kubelet restarts the server's container",
        async () => ((await restarts()) > before ? Date.now() : undefined),
        minutes(6),
      )
      expect(restarted - stopped).toBeGreaterThanOrEqual(60_000)
      await suite.patchWorkspace(workspace, "merge", { spec: { workflows: { databaseReplicas: 1 } } })
      await until(
        "the server is Ready again and answers with its data",
        async () => {
          const url = await base().catch(() => undefined)
          const deployments =
            url === undefined
              ? undefined
              : await prefectApi(url, auth)
                  .deployments()
                  .catch(() => undefined)
          return deployments?.includes("e2e-auth-kubernetes") ? deployments : undefined
        },
        minutes(10),
      )
    },
    minutes(20),
  )
})
