/**
 * Small helpers for example-based tests: a Workspace from a few fields (decoded, or raw as the API server has it),
 * finding objects in a plan, and what the engine would list once a plan was applied.
 */
import type { Workspace } from "@cartographer/schema"
import { decode } from "@cartographer/schema/testing"
import { type ManagedObject, nothingObserved, type Observed, type Plan } from "../src/index.js"
import type { Container, Deployment } from "../src/plan/kube.js"
import { plan } from "../src/plan/planner.js"
import { observeApplied } from "../src/plan/simulate.js"

export const inputs = {
  now: "2025-06-01T12:00:00Z",
  generatedPassword: "s3cr3t/p@ss:word",
  generatedSecrets: { apiAuthPassword: "auth/p@ss:word", redisPassword: "redis-p@ss" },
}
export const nothing = nothingObserved(inputs)

/** A Workspace `test-environment` in namespace `prefect` with uid and generation, and the given workflows fields. */
export const ws = (workflows: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): Workspace =>
  decode({
    apiVersion: "mlops.aigency.com/v1alpha1",
    kind: "Workspace",
    metadata: { name: "test-environment", namespace: "prefect", uid: "uid-1", generation: 3, ...metadata },
    spec: { workflows: { agentPools: [{ name: "default" }], ...workflows } },
  })

/** A Workspace `ws` in namespace `prefect` as read from the API server (not decoded), with the given workflows fields. */
export const raw = (workflows: Record<string, unknown> = {}) => ({
  apiVersion: "mlops.aigency.com/v1alpha1",
  kind: "Workspace",
  metadata: { name: "ws", namespace: "prefect", uid: "u", generation: 2 },
  spec: { workflows: { agentPools: [{ name: "default" }], ...workflows } },
})

/** What the engine would list after applying a plan: each object with its labels and controller. */
export const inventory = (p: Plan) =>
  p.apply.map((o) => ({
    kind: o.kind,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    labels: o.metadata.labels,
    ...(o.metadata.ownerReferences?.[0] === undefined ? {} : { controllerUid: o.metadata.ownerReferences[0].uid }),
  }))

type KindOf<K extends ManagedObject["kind"]> = Extract<ManagedObject, { kind: K }>

export const find = <K extends ManagedObject["kind"]>(p: Plan, kind: K, name: string): KindOf<K> => {
  const found = p.apply.find((o) => o.kind === kind && o.metadata.name === name)
  if (found === undefined)
    throw new Error(`${kind}/${name} not in plan: ${p.apply.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`)
  return found as KindOf<K>
}

export const has = (p: Plan, kind: ManagedObject["kind"], name: string): boolean =>
  p.apply.some((o) => o.kind === kind && o.metadata.name === name)

export const container = (d: Deployment, index = 0): Container => {
  const c = d.spec.template.spec.containers[index]
  if (c === undefined) throw new Error(`no container ${index} in ${d.metadata.name}`)
  return c
}

export const envOf = (c: Container): Record<string, unknown> =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]))

export const condition = (p: Plan, type: "Ready" | "Progressing" | "Degraded") =>
  p.status.conditions?.find((c) => c.type === type)

/**
 * The world after applying `p` (planned from `before`) with every Job it creates succeeding: for a plan that only
 * backs the database up, the world in which the migration can start.
 */
export const backedUp = (p: Plan, before: Observed): Observed =>
  observeApplied(p, { ...inputs, previous: before, migration: "succeeded" })

/** The plan once the first plan was applied and its migration reached `migration` (a new database: no backup). */
export const afterMigration = (w: Workspace, migration: "running" | "succeeded" | "failed" = "succeeded"): Plan =>
  plan(w, observeApplied(plan(w, nothing), { ...inputs, migration }))

/** The world once a Workspace's migration succeeded and everything rolled out and became ready. */
export const settled = (w: Workspace): Observed => {
  const first = plan(w, nothing)
  const migrated = plan(w, observeApplied(first, { ...inputs, migration: "succeeded" }))
  return observeApplied(migrated, { ...inputs, migration: "succeeded" })
}
