import { describe, expect, it } from "vitest"
import { pruneTargets } from "../src/index.js"
import { plan } from "../src/plan/planner.js"
import { container, envOf, find, has, inventory, nothing, settled, ws } from "./fixtures.js"

const agent = (pool: string) => `test-environment-agent-${pool}`

describe("worker pools", () => {
  it("run `prefect worker start` for their pool and type with a health check, limit and queues as arguments", () => {
    const w = ws({
      agentPools: [
        { name: "default" },
        { name: "etl", concurrencyLimit: 4, workQueues: ["nightly", "backfill", "nightly"] },
      ],
    })
    const p = plan(w, nothing)
    const plain = container(find(p, "Deployment", agent("default")))
    expect(plain.command).toBeUndefined()
    expect(plain.args).toEqual([
      "prefect",
      "worker",
      "start",
      "--pool",
      "default",
      "--type",
      "process",
      "--with-healthcheck",
    ])
    expect(container(find(p, "Deployment", agent("etl"))).args).toEqual([
      ...["prefect", "worker", "start", "--pool", "etl", "--type", "process", "--with-healthcheck"],
      ...["--limit", "4", "--work-queue", "nightly", "--work-queue", "backfill"],
    ])
  })

  it("leave an autoscaled pool's replicas to its autoscaler, and report what it set", () => {
    const w = ws({
      agentPools: [
        { name: "default", replicas: 3, autoscaled: true },
        { name: "fixed", replicas: 2 },
      ],
    })
    const p = plan(w, nothing)
    expect(find(p, "Deployment", agent("default")).spec.replicas).toBeUndefined()
    expect(find(p, "Deployment", agent("fixed")).spec.replicas).toBe(2)
    // Before the autoscaler acts the Deployment has the API's default, 1; afterwards whatever it set counts.
    const ready = plan(w, settled(w))
    expect(ready.status.pools?.find((x) => x.name === "default")).toMatchObject({ replicas: 1, readyReplicas: 1 })
    const base = settled(w)
    const scaled = {
      ...base,
      pools: (base.pools ?? []).map((x) =>
        x.name === "default" ? { ...x, specReplicas: 5, replicas: 5, readyReplicas: 5, availableReplicas: 5 } : x,
      ),
    }
    const after = plan(w, scaled)
    expect(after.status.pools?.find((x) => x.name === "default")).toMatchObject({ replicas: 5, readyReplicas: 5 })
    expect(after.status.conditions?.find((c) => c.type === "Ready")?.status).toBe("True")
  })

  it("send a kubernetes pool's flow-run Jobs to its job namespace through the base job template, which the worker creates the pool with and a container beside it keeps", () => {
    const p = plan(ws({ agentPools: [{ name: "k8s", type: "kubernetes", jobNamespace: "flows" }] }), nothing)
    const deployment = find(p, "Deployment", agent("k8s"))
    const worker = container(deployment)
    const init = deployment.spec.template.spec.initContainers?.[0]
    const path = worker.args?.[worker.args.indexOf("--base-job-template") + 1]
    expect(path).toBe("/home/prefect/base-job-template.json")
    expect(init?.image).toBe(worker.image)
    expect(init?.args?.slice(0, 2)).toEqual(["python", "-c"])
    expect(JSON.parse(String(envOf(init!).CARTOGRAPHER_JOB_TEMPLATE_OVERLAY ?? "{}")).defaults.namespace).toBe("flows")
    expect(envOf(init!)).toMatchObject({ CARTOGRAPHER_WORK_POOL: "k8s", CARTOGRAPHER_BASE_JOB_TEMPLATE: path })
    const sync = container(deployment, 1)
    expect(sync.name).toBe("job-template-sync")
    expect(sync.image).toBe(worker.image)
    expect(envOf(sync)).toMatchObject({
      CARTOGRAPHER_WORK_POOL: "k8s",
      CARTOGRAPHER_BASE_JOB_TEMPLATE: path,
      // It writes the pool's template through the Prefect API, reached as the worker reaches it.
      PREFECT_API_URL: envOf(worker).PREFECT_API_URL,
    })
    // The file is written to a volume all three containers mount.
    const mountOf = (c: typeof worker) => c.volumeMounts?.find((m) => path?.startsWith(`${m.mountPath}/`))?.name
    expect(mountOf(init!)).toBeDefined()
    expect(mountOf(init!)).toBe(mountOf(worker))
    expect(mountOf(sync)).toBe(mountOf(worker))
    // Process pools have no template to write.
    const plain = find(plan(ws(), nothing), "Deployment", agent("default"))
    expect(plain.spec.template.spec.initContainers).toBeUndefined()
    expect(plain.spec.template.spec.containers.map((c) => c.name)).toEqual(["agent"])
    expect(container(plain).args).not.toContain("--base-job-template")
  })

  it("give a kubernetes pool's flow-run Jobs the pool's image and the restricted profile's settings of every other pod", () => {
    const overlayOf = (pool: Record<string, unknown>, image?: string) => {
      const p = plan(
        ws({ ...(image ? { image } : {}), agentPools: [{ name: "k8s", type: "kubernetes", ...pool }] }),
        nothing,
      )
      const init = find(p, "Deployment", agent("k8s")).spec.template.spec.initContainers?.[0]
      return JSON.parse(String(envOf(init!).CARTOGRAPHER_JOB_TEMPLATE_OVERLAY ?? "{}"))
    }
    expect(overlayOf({}, "prefecthq/prefect:3.8.8-python3.11").defaults.image).toBe(
      "prefecthq/prefect:3.8.8-python3.11",
    )
    expect(overlayOf({ image: "registry.example/flows:7" }).defaults.image).toBe("registry.example/flows:7")
    const overlay = overlayOf({})
    const worker = find(plan(ws(), nothing), "Deployment", agent("default")).spec.template.spec
    // The same pod and container hardening as the Workspace's own workers (which the restricted profile admits).
    expect(overlay.pod.securityContext).toEqual(worker.securityContext)
    expect(overlay.container.securityContext).toEqual(worker.containers[0]?.securityContext)
    expect(overlay.pod.volumes).toEqual(worker.volumes)
    expect(overlay.container.volumeMounts).toEqual(worker.containers[0]?.volumeMounts)
    expect(overlay.container.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    })
  })

  it("talk to the in-cluster API and serve their health check on 8080, probed at /health", () => {
    const worker = container(find(plan(ws(), nothing), "Deployment", agent("default")))
    expect(envOf(worker)).toMatchObject({
      PREFECT_API_URL: "http://test-environment-orion-server.prefect.svc:4200/api",
      PREFECT_WORKER_WEBSERVER_HOST: "0.0.0.0",
      PREFECT_WORKER_WEBSERVER_PORT: "8080",
    })
    expect(worker.ports).toEqual([{ name: "http-health", containerPort: 8080, protocol: "TCP" }])
    expect(worker.livenessProbe?.httpGet).toEqual({ path: "/health", port: "http-health" })
  })

  it("run with the pool's replicas, image and resources, and the Workspace image by default", () => {
    const p = plan(
      ws({
        image: "prefecthq/prefect:3.8.8-python3.11",
        agentPools: [
          { name: "default" },
          { name: "gpu", replicas: 0, image: "my/prefect:gpu", resources: { limits: { "nvidia.com/gpu": 1 } } },
        ],
      }),
      nothing,
    )
    expect(container(find(p, "Deployment", agent("default"))).image).toBe("prefecthq/prefect:3.8.8-python3.11")
    const gpu = find(p, "Deployment", agent("gpu"))
    expect(gpu.spec.replicas).toBe(0)
    expect(container(gpu).image).toBe("my/prefect:gpu")
    expect(container(gpu).resources).toEqual({ limits: { "nvidia.com/gpu": "1" } })
  })

  it("of type process get no service account token and no RBAC", () => {
    const p = plan(ws(), nothing)
    const pod = find(p, "Deployment", agent("default")).spec.template.spec
    expect(pod.automountServiceAccountToken).toBe(false)
    expect(pod.serviceAccountName).toBeUndefined()
    expect(p.apply.some((o) => o.kind === "ServiceAccount" || o.kind === "Role")).toBe(false)
  })

  it("of type kubernetes get their own ServiceAccount, a least-privilege Role and its binding, and mount the token", () => {
    const p = plan(ws({ agentPools: [{ name: "jobs", type: "kubernetes" }] }), nothing)
    const pod = find(p, "Deployment", agent("jobs")).spec.template.spec
    expect(pod.serviceAccountName).toBe(agent("jobs"))
    expect(pod.automountServiceAccountToken).toBe(true)
    expect(find(p, "ServiceAccount", agent("jobs")).automountServiceAccountToken).toBe(false)
    expect(find(p, "Role", agent("jobs")).rules).toEqual([
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch", "create", "delete"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
      { apiGroups: [""], resources: ["events"], verbs: ["get", "list", "watch"] },
    ])
    const binding = find(p, "RoleBinding", agent("jobs"))
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: agent("jobs") })
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: agent("jobs"), namespace: "prefect" }])
    expect(envOf(container(find(p, "Deployment", agent("jobs"))))).toMatchObject({
      PREFECT_INTEGRATIONS_KUBERNETES_OBSERVER_NAMESPACES: "prefect",
      PREFECT_KUBERNETES_CLUSTER_UID: "cartographer.prefect.test-environment",
    })
  })

  it("of type kubernetes default to the -kubernetes flavor of an official image", () => {
    const image = (workspaceImage?: string) =>
      container(
        find(
          plan(
            ws({
              ...(workspaceImage === undefined ? {} : { image: workspaceImage }),
              agentPools: [{ name: "k", type: "kubernetes" }],
            }),
            nothing,
          ),
          "Deployment",
          agent("k"),
        ),
      ).image
    expect(image()).toBe("prefecthq/prefect:3.9.1-python3.12-kubernetes")
    expect(image("prefecthq/prefect:3.8.8-python3.11")).toBe("prefecthq/prefect:3.8.8-python3.11-kubernetes")
    expect(image("prefecthq/prefect:3-latest")).toBe("prefecthq/prefect:3-latest-kubernetes")
    expect(image("prefecthq/prefect:3.9.1-python3.12-kubernetes")).toBe("prefecthq/prefect:3.9.1-python3.12-kubernetes")
    expect(image("registry.example/custom:1")).toBe("registry.example/custom:1")
  })

  it("may store flow-run env in Secrets only when told to, and then get Secret access", () => {
    const p = plan(
      ws({
        agentPools: [
          {
            name: "k",
            type: "kubernetes",
            env: [{ name: "PREFECT_INTEGRATIONS_KUBERNETES_WORKER_STORE_ENV_AS_SECRET", value: "true" }],
          },
        ],
      }),
      nothing,
    )
    expect(find(p, "Role", agent("k")).rules.at(-1)).toEqual({
      apiGroups: [""],
      resources: ["secrets"],
      verbs: ["create", "patch", "delete"],
    })
  })

  it("put the Role in another job namespace without an owner reference, named apart and pruned by label", () => {
    const w = ws({ agentPools: [{ name: "default" }, { name: "k", type: "kubernetes", jobNamespace: "flows" }] })
    const p = plan(w, nothing)
    const role = find(p, "Role", `${agent("k")}.prefect`)
    expect(role.metadata.namespace).toBe("flows")
    expect(role.metadata.ownerReferences).toBeUndefined()
    expect(role.metadata.labels["mlops.aigency.com/workspace-namespace"]).toBe("prefect")
    expect(find(p, "RoleBinding", `${agent("k")}.prefect`).subjects[0]?.namespace).toBe("prefect")
    expect(
      envOf(container(find(p, "Deployment", agent("k")))).PREFECT_INTEGRATIONS_KUBERNETES_OBSERVER_NAMESPACES,
    ).toBe("flows")
    // The ServiceAccount stays with the worker, in the Workspace's namespace, owned.
    expect(find(p, "ServiceAccount", agent("k")).metadata.ownerReferences?.[0]?.uid).toBe("uid-1")

    const world = settled(w)
    const without = plan(ws({ agentPools: [{ name: "default" }] }), world)
    const roleSelector = without.prune.find((s) => s.kind === "Role" && s.namespace === "flows")
    expect(roleSelector).toMatchObject({
      keep: [],
      matchLabels: { "mlops.aigency.com/workspace-namespace": "prefect" },
    })
    expect(roleSelector?.controllerUid).toBeUndefined()
    const existing = [
      { kind: "Role", namespace: "flows", name: `${agent("k")}.prefect`, labels: role.metadata.labels },
      { kind: "Role", namespace: "flows", name: "someone-elses", labels: { app: "x" } },
    ]
    expect(pruneTargets(without.prune, existing).map((o) => o.name)).toEqual([`${agent("k")}.prefect`])
  })

  it("removed from the spec are pruned with their RBAC, and nothing else is", () => {
    const w = ws({ agentPools: [{ name: "default" }, { name: "k", type: "kubernetes" }] })
    const world = settled(w)
    const before = plan(w, world)
    const after = plan(ws({ agentPools: [{ name: "default" }] }), world)
    expect(has(after, "Deployment", agent("k"))).toBe(false)
    expect(
      pruneTargets(after.prune, inventory(before))
        .map((o) => `${o.kind}/${o.name}`)
        .sort(),
    ).toEqual([
      `Deployment/${agent("k")}`,
      `Role/${agent("k")}`,
      `RoleBinding/${agent("k")}`,
      `ServiceAccount/${agent("k")}`,
    ])
  })
})
