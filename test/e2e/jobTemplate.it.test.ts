// End to end on the real node: a Workspace fitted to a team's cluster (issue 20). Its pods run where the Workspace's
// placement says, with its labels, annotations, priority, envFrom and volumes; a kubernetes pool's flow run runs as
// a Job carrying the pool's jobTemplate (image, env and envFrom from a Secret, resources, ServiceAccount, node
// selector and tolerations that fit the real node, pull Secrets, TTL) and COMPLETES; the work pool's template is kept
// the Workspace's when edited as the Prefect UI edits it, and follows a change of the spec; a GPU request reaches
// the Job (its pod stays Pending, unschedulable for want of nvidia.com/gpu). The steps build on each other.
import { afterAll, beforeAll, expect, it } from "vitest"
import { describeOnRealNode, type KubeApi, kubectl, realNode } from "../harness/index.js"
import type { FlowRunJob } from "../prefect/flowRunJob.js"
import {
  completedJob,
  componentLabel,
  containerLogs,
  environmentLabel,
  isReady,
  type Job,
  listChildren,
  type Pod,
} from "./cluster.js"
import { minutes, useOperatorSuite } from "./operatorSuite.js"
import { prefectApi } from "./prefect.js"

const workspace = "fitted"
const env = `${environmentLabel}=${workspace}`
const realNodeKey = "cartographer.dev/real-node"
const fitsTheRealNode = {
  nodeSelector: { [realNodeKey]: "true" },
  tolerations: [{ key: realNodeKey, operator: "Equal", value: "true", effect: "NoSchedule" }],
}
const priorityClass = "cartographer-e2e-fitted"

/** The pool's flow-run Jobs, as a team writes them. */
const jobTemplate = {
  image: "prefecthq/prefect:3.9.1-python3.12-kubernetes",
  env: [
    { name: "E2E_PLAIN", value: "plain" },
    { name: "E2E_FROM_SECRET_KEY", valueFrom: { secretKeyRef: { name: "flow-credentials", key: "token" } } },
  ],
  envFrom: [{ secretRef: { name: "flow-credentials" } }],
  resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
  serviceAccountName: "flow-runner",
  ...fitsTheRealNode,
  imagePullSecrets: ["e2e-registry"],
  ttlSecondsAfterFinished: 900,
}

const manifest = (namespace: string) => ({
  apiVersion: "mlops.aigency.com/v1alpha1",
  kind: "Workspace",
  metadata: { name: workspace, namespace },
  spec: {
    workflows: {
      ...fitsTheRealNode,
      priorityClassName: priorityClass,
      podLabels: { team: "e2e" },
      podAnnotations: { "e2e.cartographer.dev/note": "fitted" },
      server: {
        env: [{ name: "PREFECT_SERVER_ANALYTICS_ENABLED", value: "false" }],
        podLabels: { tier: "api" },
        envFrom: [{ configMapRef: { name: "e2e-settings" } }],
        volumes: [{ name: "settings", configMap: { name: "e2e-settings" } }],
        volumeMounts: [{ name: "settings", mountPath: "/etc/e2e", readOnly: true }],
      },
      agentPools: [
        {
          name: "jobs",
          type: "kubernetes",
          serviceAccount: { annotations: { "e2e.cartographer.dev/identity": "jobs-worker" } },
          jobTemplate,
        },
      ],
    },
  },
})

interface PodDetail extends Omit<Pod, "spec" | "status"> {
  readonly spec: Pod["spec"] & { readonly priorityClassName?: string; readonly priority?: number }
  readonly status?: {
    readonly phase?: string
    readonly conditions?: ReadonlyArray<{ type: string; status: string; reason?: string; message?: string }>
  }
}

describeOnRealNode("a Workspace fitted to its cluster, run for real on the real node", () => {
  const suite = useOperatorSuite("e2e-fitted")
  const { namespace, until } = suite
  const serverUrl = () => suite.endpoint(`${workspace}-orion-server`, "http-orion")
  const server = async () => prefectApi(await serverUrl())
  let api: KubeApi
  const kubectlOk = async (args: Array<string>, input?: string) => {
    const result = await kubectl(args, input === undefined ? {} : { input })
    expect(result.code, result.stderr).toBe(0)
    return result.stdout
  }
  const jobOf = (runId: string) =>
    until(`the worker creates a Job for flow run ${runId}`, async () => {
      const jobs = await api.get<{ items: Array<Job & FlowRunJob> }>(`/apis/batch/v1/namespaces/${namespace}/jobs`)
      return jobs.items.find((j) => j.metadata.labels?.["prefect.io/flow-run-id"] === runId)
    })
  const jobPod = (job: Job) =>
    until(`a pod of Job ${job.metadata.name}`, async () => {
      const pods = await listChildren<PodDetail>(api, namespace, "pods", `job-name=${job.metadata.name}`)
      return pods[0]
    })

  beforeAll(async () => {
    api = suite.api()
    // What a team brings: a Secret and a ConfigMap, a ServiceAccount for flow runs, a PriorityClass.
    await kubectlOk([
      "create",
      "secret",
      "generic",
      "flow-credentials",
      "-n",
      namespace,
      "--from-literal=token=from-a-secret-key",
      "--from-literal=E2E_FROM_ENV_FROM=from-env-from",
    ])
    await kubectlOk([
      "create",
      "configmap",
      "e2e-settings",
      "-n",
      namespace,
      "--from-literal=E2E_SETTING=from-a-configmap",
    ])
    await kubectlOk(["create", "serviceaccount", "flow-runner", "-n", namespace])
    await kubectl(["delete", "priorityclass", priorityClass, "--ignore-not-found"])
    await kubectlOk(["create", "priorityclass", priorityClass, "--value=1000", "--description=e2e fitted Workspace"])
    await suite.apply(JSON.stringify(manifest(namespace)))
  }, minutes(2))

  afterAll(async () => {
    await kubectl(["delete", "priorityclass", priorityClass, "--ignore-not-found"])
  })

  it(
    "runs every pod where the Workspace's placement says, with its labels, annotations, priority, envFrom and volumes",
    async () => {
      await until(
        "the server Deployment is ready",
        async () => {
          const pods = await listChildren<PodDetail>(api, namespace, "pods", `${env},${componentLabel}=server`)
          return pods.find(isReady)
        },
        minutes(12),
      )
      const pods = await listChildren<PodDetail>(api, namespace, "pods", env)
      const byComponent = new Map(pods.map((p) => [p.metadata.labels?.[componentLabel], p]))
      for (const component of ["database", "migration", "server", "agent"]) {
        const pod = byComponent.get(component)
        expect(pod, component).toBeDefined()
        expect(pod?.spec.nodeName, component).toBe(realNode().name)
        expect(pod?.metadata.labels?.team, component).toBe("e2e")
        expect(pod?.metadata.annotations?.["e2e.cartographer.dev/note"], component).toBe("fitted")
        // The PriorityClass was resolved by admission: its value is on the pod.
        expect(pod?.spec.priorityClassName, component).toBe(priorityClass)
        expect(pod?.spec.priority, component).toBe(1000)
      }
      // The server's own label on top, its ConfigMap as variables and as files (kubelet mounted it: the pod is Ready).
      const serverPod = byComponent.get("server")
      expect(serverPod?.metadata.labels?.tier).toBe("api")
      const described = JSON.parse(
        await kubectlOk(["get", "pod", serverPod?.metadata.name ?? "", "-n", namespace, "-o", "json"]),
      ) as { spec: { containers: Array<{ envFrom?: unknown; volumeMounts?: Array<{ mountPath: string }> }> } }
      const container = described.spec.containers[0]
      expect(container?.envFrom).toEqual([{ configMapRef: { name: "e2e-settings" } }])
      expect(container?.volumeMounts?.map((m) => m.mountPath)).toContain("/etc/e2e")
      // Postgres is governed by the headless Service, which names its pod.
      const sts = await api.get<{ spec: { serviceName: string } }>(
        `/apis/apps/v1/namespaces/${namespace}/statefulsets/${workspace}-orion-database`,
      )
      expect(sts.spec.serviceName).toBe(`${workspace}-orion-database-headless`)
      const headless = await api.get<{ spec: { clusterIP: string } }>(
        `/api/v1/namespaces/${namespace}/services/${workspace}-orion-database-headless`,
      )
      expect(headless.spec.clusterIP).toBe("None")
      // The pool's identity: the ServiceAccount Cartographer created, with the team's annotation.
      const account = await api.get<{ metadata: { annotations?: Record<string, string> } }>(
        `/api/v1/namespaces/${namespace}/serviceaccounts/${workspace}-agent-jobs`,
      )
      expect(account.metadata.annotations?.["e2e.cartographer.dev/identity"]).toBe("jobs-worker")
    },
    minutes(15),
  )

  it(
    "runs a flow of the kubernetes pool as a Job carrying the pool's jobTemplate, and the flow run COMPLETES",
    async () => {
      const id = await suite.deployAndRun(await serverUrl(), "jobs", "e2e-fitted")
      const job = await jobOf(id)
      const pod = job.spec.template.spec
      const container = pod.containers[0]
      expect(container?.image).toBe(jobTemplate.image)
      const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]))
      expect(env).toMatchObject({
        E2E_PLAIN: "plain",
        E2E_FROM_SECRET_KEY: { secretKeyRef: { name: "flow-credentials", key: "token" } },
        PREFECT__FLOW_RUN_ID: id,
      })
      expect(container?.envFrom).toEqual([{ secretRef: { name: "flow-credentials" } }])
      expect(container?.resources).toEqual({
        requests: { cpu: "100m", memory: "256Mi" },
        limits: { cpu: "1", memory: "1Gi" },
      })
      expect(pod.serviceAccountName).toBe("flow-runner")
      expect(pod.nodeSelector).toEqual(fitsTheRealNode.nodeSelector)
      expect(pod.tolerations).toEqual(expect.arrayContaining(fitsTheRealNode.tolerations))
      expect(pod.imagePullSecrets).toEqual([{ name: "e2e-registry" }])
      expect(job.spec.ttlSecondsAfterFinished).toBe(900)
      expect(container?.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      })
      const running = await jobPod(job)
      await until("the flow run's Job completes", () => completedJob(api, namespace, job.metadata.name), minutes(8))
      const run = await suite.finishedFlowRun(await serverUrl(), id)
      expect(run.state?.type, run.state?.message ?? "").toBe("COMPLETED")
      expect(
        (await api.get<PodDetail>(`/api/v1/namespaces/${namespace}/pods/${running.metadata.name}`)).spec.nodeName,
      ).toBe(realNode().name)
    },
    minutes(15),
  )

  it(
    "runs the template's sync container within its memory limit (its working set, from the kubelet, is printed)",
    async () => {
      interface Summary {
        readonly pods: ReadonlyArray<{
          readonly podRef: { readonly name: string; readonly namespace: string }
          readonly containers?: ReadonlyArray<{
            readonly name: string
            readonly memory?: { readonly workingSetBytes?: number }
          }>
        }>
      }
      const summary = await api.get<Summary>(`/api/v1/nodes/${realNode().name}/proxy/stats/summary`)
      const worker = summary.pods.find(
        (p) => p.podRef.namespace === namespace && p.podRef.name.startsWith(`${workspace}-agent-jobs-`),
      )
      const memory = (name: string) =>
        worker?.containers?.find((c) => c.name === name)?.memory?.workingSetBytes ?? Number.NaN
      const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`
      process.stderr.write(
        `[measure] working set of pool jobs' pod: agent ${mib(memory("agent"))}, job-template-sync ${mib(memory("job-template-sync"))}\n`,
      )
      expect(memory("job-template-sync")).toBeLessThan(256 * 1024 * 1024)
    },
    minutes(2),
  )

  it(
    "puts the Workspace's template back when it is edited as the Prefect UI edits it, keeping the pool's own settings",
    async () => {
      const prefect = await server()
      const before = await prefect.workPool("jobs")
      const template = structuredClone(before.base_job_template ?? {}) as {
        variables: { properties: Record<string, { default?: unknown }> }
      }
      const namespaceVariable = template.variables.properties.namespace
      if (namespaceVariable === undefined) throw new Error("the template has no namespace variable")
      namespaceVariable.default = "edited-in-the-ui"
      await prefect.updateWorkPool("jobs", {
        base_job_template: template,
        concurrency_limit: 7,
        description: "the team's own words",
      })
      expect((await prefect.workPool("jobs")).base_job_template?.variables?.properties?.namespace?.default).toBe(
        "edited-in-the-ui",
      )
      const restored = await until(
        "the sync container puts the Workspace's template back",
        async () => {
          const pool = await prefect.workPool("jobs")
          return JSON.stringify(pool.base_job_template) === JSON.stringify(before.base_job_template) ? pool : undefined
        },
        minutes(3),
      )
      // Only the template is the Workspace's: the concurrency limit and description stay as the team set them.
      expect(restored.concurrency_limit).toBe(7)
      expect(restored.description).toBe("the team's own words")
      expect(restored.is_paused).toBe(false)
      const log = await containerLogs(namespace, `${env},mlops.aigency.com/pool=jobs`, "job-template-sync")
      expect(log).toContain("edited outside the Workspace")
    },
    minutes(6),
  )

  it(
    "writes a changed jobTemplate into the work pool; a GPU request reaches the Job, whose pod waits for a GPU",
    async () => {
      const live = await api.get<{ spec: { workflows: { agentPools: Array<{ name: string }> } } }>(
        `/apis/mlops.aigency.com/v1alpha1/namespaces/${namespace}/workspaces/${workspace}`,
      )
      const index = live.spec.workflows.agentPools.findIndex((p) => p.name === "jobs")
      await kubectlOk([
        "patch",
        "workspace",
        workspace,
        "-n",
        namespace,
        "--type=json",
        "-p",
        JSON.stringify([
          {
            op: "replace",
            path: `/spec/workflows/agentPools/${index}/jobTemplate/resources`,
            value: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi", "nvidia.com/gpu": 1 } },
          },
          {
            op: "replace",
            path: `/spec/workflows/agentPools/${index}/jobTemplate/ttlSecondsAfterFinished`,
            value: 120,
          },
        ]),
      ])
      const prefect = await server()
      await until("the work pool's template has the new TTL and the GPU", async () => {
        const pool = await prefect.workPool("jobs")
        const template = pool.base_job_template as {
          variables: { properties: { finished_job_ttl?: { default?: unknown } } }
          job_configuration: {
            job_manifest: {
              spec: { template: { spec: { containers: Array<{ resources?: { limits?: Record<string, unknown> } }> } } }
            }
          }
        }
        const limits = template.job_configuration.job_manifest.spec.template.spec.containers[0]?.resources?.limits
        return template.variables.properties.finished_job_ttl?.default === 120 && limits?.["nvidia.com/gpu"] === "1"
          ? pool
          : undefined
      })
      const id = await suite.deployAndRun(await serverUrl(), "jobs", "e2e-gpu")
      const job = await jobOf(id)
      expect(job.spec.template.spec.containers[0]?.resources?.limits?.["nvidia.com/gpu"]).toBe("1")
      expect(job.spec.ttlSecondsAfterFinished).toBe(120)
      // The real node has no GPU: the scheduler says so, naming the resource.
      const pod = await until("the GPU Job's pod is unschedulable for want of nvidia.com/gpu", async () => {
        const found = await jobPod(job)
        const fresh = await api.get<PodDetail>(`/api/v1/namespaces/${namespace}/pods/${found.metadata.name}`)
        const scheduled = fresh.status?.conditions?.find((c) => c.type === "PodScheduled")
        return scheduled?.status === "False" && scheduled.reason === "Unschedulable" ? fresh : undefined
      })
      expect(pod.status?.phase).toBe("Pending")
      expect(pod.status?.conditions?.find((c) => c.type === "PodScheduled")?.message).toContain("nvidia.com/gpu")
      await kubectl(["delete", "job", job.metadata.name, "-n", namespace, "--wait=false"])
    },
    minutes(12),
  )
})
