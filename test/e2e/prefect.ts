// What the end-to-end suites ask a Workspace's Prefect server, through its REST API (as the UI and clients do),
// and how they deploy and start a flow (with the Prefect client from the pinned venv, as a data scientist would).
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { run } from "../harness/processes.js"
import { prefectVenv, venvBin } from "../prefect/index.js"

export interface WorkPool {
  readonly name: string
  readonly type: string
  readonly status: string | null
  readonly description?: string | null
  readonly concurrency_limit?: number | null
  readonly is_paused?: boolean
  readonly base_job_template?: {
    readonly variables?: { readonly properties?: Record<string, { readonly default?: unknown } | undefined> }
    readonly job_configuration?: Record<string, unknown>
    readonly [key: string]: unknown
  }
}

export interface Worker {
  readonly name: string
  readonly status: string
  readonly last_heartbeat_time: string | null
}

export interface FlowRun {
  readonly id: string
  readonly name: string
  readonly state_type: string | null
  readonly state?: { readonly type: string; readonly name: string; readonly message: string | null }
}

/** `Authorization: Basic …` for a Prefect auth string (`user:password`), as Prefect's clients send it. */
export const basicAuthHeader = (auth: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(auth).toString("base64")}`,
})

/** The server's REST API at `baseUrl` (`http://host:port`, or with its path prefix), with basic auth when given. */
export const prefectApi = (baseUrl: string, auth?: string) => {
  const call = async <A>(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<A> => {
    const response = await fetch(`${baseUrl}/api${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(auth === undefined ? {} : basicAuthHeader(auth)),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`)
    return (text === "" ? undefined : JSON.parse(text)) as A
  }
  return {
    health: () => call<boolean>("GET", "/health"),
    workPools: () => call<ReadonlyArray<WorkPool>>("POST", "/work_pools/filter", {}),
    workPool: (name: string) => call<WorkPool>("GET", `/work_pools/${name}`),
    /** `PATCH /work_pools/{name}`: what the Prefect UI's work pool form sends. */
    updateWorkPool: (name: string, update: Record<string, unknown>) =>
      call<void>("PATCH", `/work_pools/${name}`, update),
    workers: (pool: string) => call<ReadonlyArray<Worker>>("POST", `/work_pools/${pool}/workers/filter`, {}),
    flowRun: (id: string) => call<FlowRun>("GET", `/flow_runs/${id}`),
    /** The flow run once its state is final; undefined before (a poll's check). */
    finishedFlowRun: async (id: string) => {
      const run = await call<FlowRun>("GET", `/flow_runs/${id}`)
      return finalStates.includes(run.state?.type ?? "") ? run : undefined
    },
    /** Another run of an existing deployment; resolves with its id. */
    runDeployment: async (deployment: string) => {
      const found = await call<ReadonlyArray<{ readonly id: string; readonly name: string }>>(
        "POST",
        "/deployments/filter",
        { deployments: { name: { any_: [deployment] } } },
      )
      const id = found[0]?.id
      if (id === undefined) throw new Error(`no deployment ${deployment}`)
      return (await call<{ readonly id: string }>("POST", `/deployments/${id}/create_flow_run`, {})).id
    },
    /** The settings the server runs with (`/api/admin/settings`), as Prefect reports them. */
    settings: () => call<Record<string, unknown>>("GET", "/admin/settings"),
    /** Names of every deployment. */
    deployments: async () =>
      (await call<ReadonlyArray<{ readonly name: string }>>("POST", "/deployments/filter", {})).map((d) => d.name),
  }
}

/** How a flow is deployed: its pool's job variables, its parameters, the server's credentials. */
export interface DeployOptions {
  readonly jobVariables?: Record<string, unknown>
  /** The flow's parameters (flows/hello.py's). */
  readonly parameters?: Record<string, unknown>
  /** The server's basic auth string, when it requires one. */
  readonly auth?: string
}

/** States a flow run does not leave. */
const finalStates: ReadonlyArray<string> = ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]

const flowsDir = fileURLToPath(new URL("./flows", import.meta.url))

/**
 * Deploys flows/hello.py to `pool` as deployment `name` and starts one run; resolves with the flow run id.
 * `apiUrl` is the server's `/api` URL as a client outside the cluster reaches it.
 */
export const deployAndRun = async (
  apiUrl: string,
  pool: string,
  name: string,
  options: DeployOptions = {},
): Promise<string> => {
  const { jobVariables = {}, parameters = {}, auth } = options
  const venv = await prefectVenv()
  const home = await mkdtemp(join(tmpdir(), "cartographer-deploy-"))
  try {
    const result = await run(
      venvBin(venv, "python"),
      [join(flowsDir, "deploy.py"), pool, name, JSON.stringify(jobVariables), JSON.stringify(parameters)],
      {
        cwd: flowsDir,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: home,
          PREFECT_HOME: join(home, ".prefect"),
          PREFECT_API_URL: apiUrl,
          ...(auth === undefined ? {} : { PREFECT_API_AUTH_STRING: auth }),
        },
        timeoutMs: 300_000,
      },
    )
    const id = result.stdout.trim().split("\n").at(-1)?.trim() ?? ""
    if (result.code !== 0 || !/^[0-9a-f-]{36}$/u.test(id)) {
      throw new Error(`deploy.py exited ${result.code}:\n${`${result.stdout}${result.stderr}`.slice(-3000)}`)
    }
    return id
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}
