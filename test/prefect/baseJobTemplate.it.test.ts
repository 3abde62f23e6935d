// What Prefect makes of the flow-run Job template Cartographer plans for a kubernetes pool, with the pinned Prefect
// and prefect-kubernetes (those of the worker image): the planned init container's program, run as planned, writes
// the template; prefect-kubernetes renders a flow run's Job from it exactly as the worker does. No cluster needed.
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { plan } from "@cartographer/reconciler/testing"
import { decode } from "@cartographer/schema/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { run } from "../harness/processes.js"
import type { FlowRunJob } from "./flowRunJob.js"
import { prefectVenv, venvBin } from "./index.js"

interface Container {
  readonly name: string
  readonly args?: ReadonlyArray<string>
  readonly env?: ReadonlyArray<{ readonly name: string; readonly value?: string }>
}

const workspace = (pool: Record<string, unknown>, workflows: Record<string, unknown> = {}) =>
  decode({
    apiVersion: "mlops.aigency.com/v1alpha1",
    kind: "Workspace",
    metadata: { name: "ws", namespace: "team", uid: "u" },
    spec: {
      workflows: {
        imagePullSecrets: ["workspace-pull"],
        agentPools: [{ name: "jobs", type: "kubernetes", ...pool }],
        ...workflows,
      },
    },
  })

/** The init container the planner gives the pool's worker pod. */
const initContainer = (ws: ReturnType<typeof workspace>): Container => {
  const deployment = plan(ws, {
    now: "2026-01-01T00:00:00Z",
    generatedPassword: "p",
    generatedSecrets: { apiAuthPassword: "p", redisPassword: "p" },
  }).apply.find((o) => o.kind === "Deployment" && o.metadata.name === "ws-agent-jobs") as
    | { spec: { template: { spec: { initContainers?: ReadonlyArray<Container> } } } }
    | undefined
  const init = deployment?.spec.template.spec.initContainers?.find((c) => c.name === "base-job-template")
  if (init === undefined) throw new Error("no base-job-template init container planned")
  return init
}

/** Renders one flow run's Job with prefect-kubernetes, as the worker does, from the template and job variables. */
const render = [
  "import asyncio, json, sys, uuid",
  "from prefect.client.schemas.objects import FlowRun",
  "from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration",
  "template = json.load(open(sys.argv[1]))",
  "async def main():",
  "    config = await KubernetesWorkerJobConfiguration.from_template_and_values(template, json.loads(sys.argv[2]))",
  '    config.prepare_for_flow_run(FlowRun(id=uuid.uuid4(), name="run", flow_id=uuid.uuid4()))',
  "    print(json.dumps(config.job_manifest))",
  "asyncio.run(main())",
].join("\n")

let venv: string
let dir: string
beforeAll(async () => {
  venv = await prefectVenv()
  dir = await mkdtemp(join(tmpdir(), "cartographer-job-template-"))
}, 600_000)
afterAll(() => rm(dir, { recursive: true, force: true }))

/** Runs the planned init container's program as planned (its args and env), then renders a Job. */
const templateAndJob = async (ws: ReturnType<typeof workspace>, jobVariables: Record<string, unknown> = {}) => {
  const init = initContainer(ws)
  const file = join(dir, `template-${Math.random().toString(16).slice(2)}.json`)
  const env = Object.fromEntries(
    (init.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]),
  )
  const [command, ...args] = init.args ?? []
  const written = await run(venvBin(venv, command ?? "python"), args, {
    env: { ...env, PATH: process.env.PATH ?? "", HOME: dir, CARTOGRAPHER_BASE_JOB_TEMPLATE: file },
    timeoutMs: 120_000,
  })
  if (written.code !== 0) return { written, template: undefined, job: undefined }
  const template = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>
  const rendered = await run(venvBin(venv, "python"), ["-c", render, file, JSON.stringify(jobVariables)], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      PREFECT_HOME: join(dir, "prefect"),
      PREFECT_API_URL: "http://prefect.invalid/api",
    },
    timeoutMs: 120_000,
  })
  expect(rendered.code, rendered.stderr).toBe(0)
  const job = JSON.parse(rendered.stdout.trim().split("\n").at(-1) ?? "{}") as FlowRunJob
  return { written, template, job }
}

const gpuPool = {
  jobNamespace: "flows",
  jobTemplate: {
    image: "registry.example.com/flows:7",
    env: [
      { name: "MODEL", value: "small" },
      { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf", key: "token" } } },
      { name: "HOME", value: "/elsewhere" },
    ],
    envFrom: [{ secretRef: { name: "flow-credentials" } }],
    resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "4Gi", "nvidia.com/gpu": 1 } },
    serviceAccountName: "flows",
    nodeSelector: { "nvidia.com/gpu.present": "true" },
    tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
    imagePullSecrets: ["regcred"],
    ttlSecondsAfterFinished: 600,
  },
}

describe("the flow-run Job template of a kubernetes pool, rendered by prefect-kubernetes", () => {
  it("gives a flow run's Job every setting of jobTemplate, and the restricted profile's hardening", async () => {
    const { written, job } = await templateAndJob(workspace(gpuPool))
    expect(written.code, written.stderr).toBe(0)
    const pod = job?.spec.template.spec
    const container = pod?.containers[0]
    expect(job?.metadata.namespace).toBe("flows")
    expect(job?.spec.ttlSecondsAfterFinished).toBe(600)
    expect(pod?.serviceAccountName).toBe("flows")
    expect(pod?.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" })
    expect(pod?.tolerations).toEqual([{ effect: "NoSchedule", key: "nvidia.com/gpu", operator: "Exists" }])
    expect(pod?.imagePullSecrets).toEqual([{ name: "regcred" }])
    expect(container?.image).toBe("registry.example.com/flows:7")
    expect(container?.envFrom).toEqual([{ secretRef: { name: "flow-credentials" } }])
    expect(container?.resources).toEqual({
      requests: { cpu: "1", memory: "2Gi" },
      limits: { memory: "4Gi", "nvidia.com/gpu": "1" },
    })
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]))
    expect(env).toMatchObject({
      MODEL: "small",
      HF_TOKEN: { secretKeyRef: { name: "hf", key: "token" } },
      // Cartographer's HOME wins over the pool's (reported as ignored in the status).
      HOME: "/home/prefect",
      PREFECT__FLOW_RUN_ID: expect.any(String),
    })
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } })
    expect(container?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    })
    expect(container?.volumeMounts?.map((m) => m.mountPath)).toEqual(["/home/prefect", "/tmp", "/var/lib/prefect"])
  })

  it("leaves each setting to a deployment's job variables, and adds a deployment's env to the pool's", async () => {
    const { job } = await templateAndJob(workspace(gpuPool), {
      image: "registry.example.com/flows:8",
      node_selector: { pool: "other" },
      env: { EXTRA: "1" },
      cpu_limit: "3",
    })
    const pod = job?.spec.template.spec
    expect(pod?.containers[0]?.image).toBe("registry.example.com/flows:8")
    expect(pod?.nodeSelector).toEqual({ pool: "other" })
    expect(pod?.containers[0]?.resources?.limits).toEqual({ cpu: "3", memory: "4Gi", "nvidia.com/gpu": "1" })
    const names = (pod?.containers[0]?.env ?? []).map((e) => e.name)
    expect(names).toEqual(expect.arrayContaining(["MODEL", "EXTRA", "HF_TOKEN"]))
  })

  it("without a jobTemplate: the pool's job namespace and image, the Workspace's pull Secrets, nothing else set", async () => {
    const { job, template } = await templateAndJob(
      workspace({ image: "prefecthq/prefect:3.9.1-python3.12-kubernetes" }),
    )
    const pod = job?.spec.template.spec
    expect(job?.metadata.namespace).toBe("team")
    expect(job?.spec.ttlSecondsAfterFinished).toBeUndefined()
    expect(pod?.serviceAccountName).toBeUndefined()
    expect(pod?.nodeSelector).toEqual({})
    expect(pod?.imagePullSecrets).toEqual([{ name: "workspace-pull" }])
    expect(pod?.containers[0]?.image).toBe("prefecthq/prefect:3.9.1-python3.12-kubernetes")
    // The mark the sync container recognises the Workspace's templates by.
    expect(template?.cartographer).toEqual({ hash: expect.stringMatching(/^[0-9a-f]{16}$/u) })
  })
})
