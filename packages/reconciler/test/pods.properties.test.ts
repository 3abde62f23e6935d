// Properties of what the planner puts into every pod from the Workspace's placement, pod metadata, envFrom, volumes
// and identity fields, over generated Workspaces (which set any subset of them, Workspace-wide and per component).
import { type AgentPool, cartographerVolumes, type Placement, type Workspace } from "@cartographer/schema"
import { workspace } from "@cartographer/schema/testing"
import { describe, expect } from "vitest"
import { nothingObserved } from "../src/index.js"
import type { ManagedObject, PodSpec, PodTemplateSpec } from "../src/plan/kube.js"
import { labelKeys } from "../src/plan/labels.js"
import { plan } from "../src/plan/planner.js"
import { convergedPlan } from "../src/plan/simulate.js"
import { canonical } from "../src/plan/sorted.js"
import { property } from "./arbitraries.js"
import { inputs } from "./fixtures.js"

type Workload = Extract<ManagedObject, { kind: "Deployment" | "StatefulSet" | "Job" }>
const workloads = (objects: ReadonlyArray<ManagedObject>): ReadonlyArray<Workload> =>
  objects.filter((o): o is Workload => o.kind === "Deployment" || o.kind === "StatefulSet" || o.kind === "Job")

/** Where a workload's component states its own placement. */
const ownPlacement = (ws: Workspace, object: Workload): Placement | undefined => {
  const { workflows } = ws.spec
  const pool = object.metadata.labels[labelKeys.pool]
  switch (object.metadata.labels[labelKeys.component]) {
    case "agent":
      return workflows.agentPools.find((p) => p.name === pool)
    // The background services run where the server's pods run.
    case "server":
    case "services":
      return workflows.server
    case "database":
      return workflows.database
    case "redis":
      return workflows.redis
    case "migration":
      return workflows.migration
    default:
      throw new Error(`unexpected workload ${object.metadata.name}`)
  }
}

const template = (object: Workload): PodTemplateSpec => object.spec.template

const sameOrAbsent = (actual: unknown, expected: unknown) => {
  const empty = expected === undefined || (typeof expected === "object" && Object.keys(expected as object).length === 0)
  if (empty) expect(actual).toBeUndefined()
  else expect(actual).toEqual(canonical(expected))
}

describe("pods", () => {
  property("get the component's own scheduling fields, else the Workspace's, each as a whole", [workspace()], (ws) => {
    for (const object of workloads(convergedPlan(ws, nothingObserved(inputs)).apply)) {
      const own = ownPlacement(ws, object)
      const pick = <K extends keyof Placement>(key: K) => (own?.[key] !== undefined ? own[key] : ws.spec.workflows[key])
      const pod: PodSpec = template(object).spec
      sameOrAbsent(pod.nodeSelector, pick("nodeSelector"))
      sameOrAbsent(pod.affinity, pick("affinity"))
      sameOrAbsent(pod.tolerations, pick("tolerations"))
      expect(pod.priorityClassName).toBe(pick("priorityClassName"))
      // A spread constraint without a selector counts the component's own pods.
      const spread = pick("topologySpreadConstraints") ?? []
      expect(pod.topologySpreadConstraints?.length ?? 0).toBe(spread.length)
      for (const constraint of pod.topologySpreadConstraints ?? []) {
        expect(constraint.labelSelector).toBeDefined()
        const given = spread.find(
          (c) => c.topologyKey === constraint.topologyKey && c.whenUnsatisfiable === constraint.whenUnsatisfiable,
        )
        if (given?.labelSelector === undefined) {
          const { labels } = object.metadata
          const selector = Object.fromEntries(
            [labelKeys.environment, labelKeys.component, labelKeys.pool].flatMap((key) =>
              labels[key] === undefined ? [] : [[key, labels[key]]],
            ),
          )
          expect(constraint.labelSelector).toEqual({ matchLabels: selector })
        } else expect(constraint.labelSelector).toEqual(canonical(given.labelSelector))
      }
    }
  })

  property(
    "carry the Workspace's and their component's extra labels and annotations, and every label the operator sets",
    [workspace()],
    (ws) => {
      for (const object of workloads(convergedPlan(ws, nothingObserved(inputs)).apply)) {
        const own = ownPlacement(ws, object)
        const { labels, annotations } = template(object).metadata
        // The operator's own labels (the object's) hold on the pods, with their values.
        for (const [key, value] of Object.entries(object.metadata.labels)) {
          if (key === "mlops.aigency.com/migration-hash") continue
          expect(labels[key], key).toBe(value)
        }
        for (const [key, value] of Object.entries({ ...ws.spec.workflows.podLabels, ...own?.podLabels }))
          expect(labels[key], key).toBe(value)
        expect(annotations ?? {}).toEqual(canonical({ ...ws.spec.workflows.podAnnotations, ...own?.podAnnotations }))
      }
    },
  )

  property(
    "of the server, the migration and each pool mount the component's volumes after Cartographer's, and take its envFrom",
    [workspace()],
    (ws) => {
      for (const object of workloads(convergedPlan(ws, nothingObserved(inputs)).apply)) {
        const component = object.metadata.labels[labelKeys.component]
        if (component === "database" || component === "redis") continue
        // The migration reads what the server reads.
        const spec = component === "agent" ? (ownPlacement(ws, object) as AgentPool) : ws.spec.workflows.server
        const pod = template(object).spec
        const main = pod.containers[0]
        const ours = (name: string) => Object.values(cartographerVolumes).some((v) => v.name === name)
        const volumes = pod.volumes ?? []
        const mounts = main?.volumeMounts ?? []
        // Cartographer's first, then the spec's, in its order.
        expect(volumes.findIndex((v) => !ours(v.name))).toBe(
          volumes.some((v) => !ours(v.name)) ? volumes.filter((v) => ours(v.name)).length : -1,
        )
        // As the API server stores them: a `readOnly: false` is left out.
        const stored = (value: unknown) =>
          JSON.parse(JSON.stringify(canonical(value), (key, v) => (key === "readOnly" && v === false ? undefined : v)))
        expect(volumes.filter((v) => !ours(v.name))).toEqual(stored(spec.volumes ?? []))
        expect(mounts.filter((m) => !ours(m.name))).toEqual(stored(spec.volumeMounts ?? []))
        expect(mounts.slice(0, mounts.filter((m) => ours(m.name)).length).every((m) => ours(m.name))).toBe(true)
        sameOrAbsent(main?.envFrom, spec.envFrom)
      }
    },
  )

  property(
    "of a pool run as the ServiceAccount it names, else as one Cartographer creates for kubernetes pools and cloud identities",
    [workspace()],
    (ws) => {
      const p = plan(ws, nothingObserved(inputs))
      for (const pool of ws.spec.workflows.agentPools) {
        const name = `${ws.metadata.name}-agent-${pool.name}`
        const deployment = p.apply.find((o) => o.kind === "Deployment" && o.metadata.name === name)
        const account = p.apply.find((o) => o.kind === "ServiceAccount" && o.metadata.name === name)
        const pod = deployment?.kind === "Deployment" ? deployment.spec.template.spec : undefined
        const creates =
          pool.serviceAccount?.name === undefined &&
          (pool.type === "kubernetes" || pool.serviceAccount?.annotations !== undefined)
        expect(account !== undefined).toBe(creates)
        expect(pod?.serviceAccountName).toBe(pool.serviceAccount?.name ?? (creates ? name : undefined))
        if (account?.kind === "ServiceAccount")
          expect(account.metadata.annotations ?? {}).toEqual(canonical(pool.serviceAccount?.annotations ?? {}))
        const binding = p.apply.find((o) => o.kind === "RoleBinding" && o.metadata.labels[labelKeys.pool] === pool.name)
        if (binding?.kind === "RoleBinding") expect(binding.subjects[0]?.name).toBe(pod?.serviceAccountName)
      }
    },
  )

  property(
    "of a pool with more than one worker, or autoscaled, have a disruption budget selecting exactly them, unless it is off",
    [workspace()],
    (ws) => {
      const p = plan(ws, nothingObserved(inputs))
      for (const pool of ws.spec.workflows.agentPools) {
        const budget = p.apply.find(
          (o) => o.kind === "PodDisruptionBudget" && o.metadata.labels[labelKeys.pool] === pool.name,
        )
        const wanted = pool.podDisruptionBudget?.enabled !== false && (pool.autoscaled === true || pool.replicas > 1)
        expect(budget !== undefined).toBe(wanted)
        const deployment = p.apply.find(
          (o) => o.kind === "Deployment" && o.metadata.labels[labelKeys.pool] === pool.name,
        )
        if (budget?.kind === "PodDisruptionBudget" && deployment?.kind === "Deployment") {
          expect(budget.spec.selector).toEqual(deployment.spec.selector)
          expect(budget.spec.maxUnavailable).toBe(pool.podDisruptionBudget?.maxUnavailable ?? 1)
        }
      }
    },
  )
})
