import { describe, expect, it } from "vitest"
import { pruneTargets } from "../src/index.js"
import type { Deployment, Job, PodSpec } from "../src/plan/kube.js"
import { plan } from "../src/plan/planner.js"
import { condition, container, find, has, inventory, nothing, settled, ws } from "./fixtures.js"

const server = "test-environment-orion-server"
const agent = (pool: string) => `test-environment-agent-${pool}`
const podOf = (d: Deployment): PodSpec => d.spec.template.spec
const migration = (p: ReturnType<typeof plan>): Job => {
  const job = p.apply.find((o) => o.kind === "Job")
  if (job?.kind !== "Job") throw new Error("no migration Job")
  return job
}

describe("placement of a component's pods", () => {
  it("keeps today's single nodeSelector working for every pod, and lets a component replace or clear it", () => {
    const p = plan(
      ws({
        nodeSelector: { pool: "general" },
        database: { nodeSelector: { disk: "ssd" } },
        agentPools: [{ name: "default" }, { name: "anywhere", nodeSelector: {} }],
      }),
      nothing,
    )
    expect(podOf(find(p, "Deployment", server)).nodeSelector).toEqual({ pool: "general" })
    expect(migration(p).spec.template.spec.nodeSelector).toEqual({ pool: "general" })
    expect(podOf(find(p, "Deployment", agent("default"))).nodeSelector).toEqual({ pool: "general" })
    expect(find(p, "StatefulSet", "test-environment-orion-database").spec.template.spec.nodeSelector).toEqual({
      disk: "ssd",
    })
    expect(podOf(find(p, "Deployment", agent("anywhere"))).nodeSelector).toBeUndefined()
  })

  it("gives the Workspace's tolerations, affinity and priority class to every pod unless the component states its own", () => {
    const gpu = [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]
    const p = plan(
      ws({
        tolerations: [{ key: "dedicated", operator: "Equal", value: "prefect", effect: "NoSchedule" }],
        priorityClassName: "prefect",
        server: { priorityClassName: "prefect-critical" },
        agentPools: [{ name: "default" }, { name: "gpu", tolerations: gpu }],
      }),
      nothing,
    )
    const defaultPod = podOf(find(p, "Deployment", agent("default")))
    expect(defaultPod.tolerations).toEqual([
      { effect: "NoSchedule", key: "dedicated", operator: "Equal", value: "prefect" },
    ])
    expect(defaultPod.priorityClassName).toBe("prefect")
    expect(podOf(find(p, "Deployment", agent("gpu"))).tolerations).toEqual([
      { effect: "NoSchedule", key: "nvidia.com/gpu", operator: "Exists" },
    ])
    expect(podOf(find(p, "Deployment", server)).priorityClassName).toBe("prefect-critical")
  })

  it("spreads a component's own pods when a topology spread constraint names no selector", () => {
    const spread = [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" }]
    const p = plan(ws({ controllerReplicas: 2, topologySpreadConstraints: spread }), nothing)
    expect(podOf(find(p, "Deployment", server)).topologySpreadConstraints).toEqual([
      {
        labelSelector: {
          matchLabels: { "mlops.aigency.com/component": "server", "mlops.aigency.com/environment": "test-environment" },
        },
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "ScheduleAnyway",
      },
    ])
    expect(
      find(p, "Deployment", "test-environment-orion-redis").spec.template.spec.topologySpreadConstraints?.[0]
        ?.labelSelector?.matchLabels?.["mlops.aigency.com/component"],
    ).toBe("redis")
  })

  it("labels and annotates the pods with the Workspace's and the component's extras, the component's winning", () => {
    const p = plan(
      ws({
        podLabels: { team: "ml", tier: "shared" },
        podAnnotations: { "example.com/owner": "ml" },
        agentPools: [
          { name: "default", podLabels: { tier: "gpu" }, podAnnotations: { "sidecar.istio.io/inject": "false" } },
        ],
      }),
      nothing,
    )
    const metadata = find(p, "Deployment", agent("default")).spec.template.metadata
    expect(metadata.labels).toMatchObject({ team: "ml", tier: "gpu", "mlops.aigency.com/pool": "default" })
    expect(metadata.annotations).toEqual({ "example.com/owner": "ml", "sidecar.istio.io/inject": "false" })
    // The Deployment itself keeps only Cartographer's labels: its selector and its own labels never change.
    expect(find(p, "Deployment", agent("default")).metadata.labels.team).toBeUndefined()
  })

  it("names each pull Secret once, however often the Workspace lists it (server-side apply refuses duplicates)", () => {
    const pod = podOf(
      find(plan(ws({ imagePullSecrets: ["regcred", "regcred", "other"] }), nothing), "Deployment", server),
    )
    expect(pod.imagePullSecrets).toEqual([{ name: "regcred" }, { name: "other" }])
  })
})

describe("envFrom and volumes", () => {
  const credentials = {
    envFrom: [{ secretRef: { name: "db-tls" } }],
    volumes: [{ name: "certs", secret: { secretName: "db-ca" } }],
    volumeMounts: [{ name: "certs", mountPath: "/etc/db", readOnly: true }],
  }

  it("reach the server's container after Cartographer's own, and the migration Job, whose name then changes", () => {
    const before = migration(plan(ws(), nothing)).metadata.name
    const p = plan(ws({ server: credentials }), nothing)
    const pod = podOf(find(p, "Deployment", server))
    expect(container(find(p, "Deployment", server)).envFrom).toEqual([{ secretRef: { name: "db-tls" } }])
    expect(pod.volumes?.map((v) => v.name)).toEqual(["home", "tmp", "prefect-home", "ui-build", "certs"])
    expect(container(find(p, "Deployment", server)).volumeMounts?.at(-1)).toEqual({
      mountPath: "/etc/db",
      name: "certs",
      readOnly: true,
    })
    // The migration reads the database settings the server reads.
    const job = migration(p)
    expect(job.spec.template.spec.containers[0]?.envFrom).toEqual([{ secretRef: { name: "db-tls" } }])
    expect(job.spec.template.spec.volumes?.at(-1)).toEqual({ name: "certs", secret: { secretName: "db-ca" } })
    expect(job.metadata.name).not.toBe(before)
  })

  it("reach a pool's worker container, and not its init or sync containers", () => {
    const p = plan(ws({ agentPools: [{ name: "k", type: "kubernetes", ...credentials }] }), nothing)
    const deployment = find(p, "Deployment", agent("k"))
    expect(container(deployment).envFrom).toEqual([{ secretRef: { name: "db-tls" } }])
    expect(container(deployment).volumeMounts?.at(-1)?.name).toBe("certs")
    expect(container(deployment, 1).envFrom).toBeUndefined()
    expect(podOf(deployment).initContainers?.[0]?.envFrom).toBeUndefined()
  })
})

describe("the identity of a pool", () => {
  it("puts cloud identity annotations on the ServiceAccount Cartographer creates, for a process pool too, without a token", () => {
    const annotations = { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/prefect" }
    const p = plan(ws({ agentPools: [{ name: "default", serviceAccount: { annotations } }] }), nothing)
    expect(find(p, "ServiceAccount", agent("default")).metadata.annotations).toEqual(annotations)
    const pod = podOf(find(p, "Deployment", agent("default")))
    expect(pod.serviceAccountName).toBe(agent("default"))
    expect(pod.automountServiceAccountToken).toBe(false)
    expect(has(p, "Role", agent("default"))).toBe(false)
  })

  it("runs a pool as an existing ServiceAccount it names: none is created, and a kubernetes pool's Role is bound to it", () => {
    const p = plan(
      ws({ agentPools: [{ name: "k", type: "kubernetes", serviceAccount: { name: "team-workers" } }] }),
      nothing,
    )
    expect(has(p, "ServiceAccount", agent("k"))).toBe(false)
    expect(podOf(find(p, "Deployment", agent("k"))).serviceAccountName).toBe("team-workers")
    expect(find(p, "RoleBinding", agent("k")).subjects).toEqual([
      { kind: "ServiceAccount", name: "team-workers", namespace: "prefect" },
    ])
  })
})

describe("a pool's PodDisruptionBudget", () => {
  it("lets a drain take one worker at a time from a pool of several, and none is planned for a single worker", () => {
    const w = ws({ agentPools: [{ name: "default", replicas: 3 }, { name: "single" }] })
    const p = plan(w, nothing)
    expect(find(p, "PodDisruptionBudget", agent("default")).spec).toEqual({
      maxUnavailable: 1,
      selector: find(p, "Deployment", agent("default")).spec.selector,
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    })
    expect(has(p, "PodDisruptionBudget", agent("single"))).toBe(false)
  })

  it("covers an autoscaled pool, can be switched off by the pool, and is pruned when the pool shrinks to one", () => {
    const w = ws({
      agentPools: [
        { name: "auto", autoscaled: true },
        { name: "off", replicas: 4, podDisruptionBudget: { enabled: false } },
      ],
    })
    const p = plan(w, nothing)
    expect(has(p, "PodDisruptionBudget", agent("auto"))).toBe(true)
    expect(has(p, "PodDisruptionBudget", agent("off"))).toBe(false)
    const grown = ws({ agentPools: [{ name: "auto", replicas: 2 }] })
    const shrunk = plan(ws({ agentPools: [{ name: "auto", replicas: 1 }] }), settled(grown))
    expect(
      pruneTargets(shrunk.prune, inventory(plan(grown, settled(grown)))).map((o) => `${o.kind}/${o.name}`),
    ).toEqual([`PodDisruptionBudget/${agent("auto")}`])
  })
})

describe("pods that do not start", () => {
  it("make the Workspace Degraded/PodsFailing, naming the field that describes them and what Kubernetes said", () => {
    const w = ws({ agentPools: [{ name: "default" }, { name: "gpu", nodeSelector: { gpu: "a100" } }] })
    const p = plan(w, {
      ...settled(w),
      podProblems: [
        { component: "agent", pool: "gpu", reason: "Unschedulable", message: "0/3 nodes are available" },
        { component: "agent", pool: "gone", reason: "Unschedulable", message: "a removed pool's" },
      ],
    })
    expect(condition(p, "Degraded")).toMatchObject({
      status: "True",
      reason: "PodsFailing",
      message:
        "Pods do not start: spec.workflows.agentPools[1] (pool gpu): Unschedulable — no node fits them (nodeSelector, " +
        "tolerations, affinity, topologySpreadConstraints, resources): 0/3 nodes are available",
    })
  })
})

describe("a kubernetes pool's Job template env", () => {
  it("reports the variables it cannot set (Cartographer's, or the worker's) as ignored, with their path", () => {
    const p = plan(
      ws({
        agentPools: [
          {
            name: "k",
            type: "kubernetes",
            jobTemplate: {
              env: [
                { name: "HOME", value: "/x" },
                { name: "PREFECT_API_URL", value: "http://elsewhere" },
              ],
            },
          },
        ],
      }),
      nothing,
    )
    expect(condition(p, "Degraded")?.reason).toBe("EnvVarsIgnored")
    expect(condition(p, "Degraded")?.message).toContain("spec.workflows.agentPools[0].jobTemplate.env[0] (HOME)")
    expect(condition(p, "Degraded")?.message).toContain(
      "spec.workflows.agentPools[0].jobTemplate.env[1] (PREFECT_API_URL)",
    )
  })
})
