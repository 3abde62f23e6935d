import type { AgentPool, Workspace } from "@cartographer/schema"
import {
  decode,
  dnsLabel,
  maxStatefulSetNameLength,
  maxWorkspaceNameLength,
  poolDocument,
  workspace,
} from "@cartographer/schema/testing"
import fc from "fast-check"
import { describe, expect } from "vitest"
import { type ManagedObject, nothingObserved, type Observed, pruneTargets } from "../src/index.js"
import { contextOf } from "../src/plan/context.js"
import { labelKeys } from "../src/plan/labels.js"
import { desiredRevision, migrationHashLabel, planMigrationJob } from "../src/plan/migration.js"
import { plan } from "../src/plan/planner.js"
import { schemaGuardMarker } from "../src/plan/schemaGuard.js"
import { observeApplied } from "../src/plan/simulate.js"
import { observedFor, property } from "./arbitraries.js"
import { inventory } from "./fixtures.js"
import { podSpecOf, violations } from "./kubernetesRules.js"

const inputs = {
  now: "2025-06-01T12:00:00Z",
  generatedPassword: "generated p@ss/word",
  generatedSecrets: { apiAuthPassword: "generated auth/p@ss", redisPassword: "generated-redis" },
}
const key = (o: ManagedObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`
const byKey = (objects: ReadonlyArray<ManagedObject>) => new Map(objects.map((o) => [key(o), o]))
const currentHash = (ws: Workspace): string | undefined =>
  plan(ws, nothingObserved(inputs)).apply.find((o) => o.kind === "Job")?.metadata.labels[migrationHashLabel]
const currentJobName = (ws: Workspace): string => {
  const ctx = contextOf(ws)
  return planMigrationJob(ctx, desiredRevision(ctx)).metadata.name
}

/** A Workspace with an arbitrary world around it. */
const scenario = workspace().chain((ws) => observedFor(ws, currentHash(ws)).map((obs) => ({ ws, obs })))

describe("plan", () => {
  property(
    "is total: any valid Workspace in any observed world yields a plan, never an exception",
    [workspace().chain((ws) => observedFor(ws).map((obs) => ({ ws, obs })))],
    ({ ws, obs }) => {
      const p = plan(ws, obs)
      expect(p.status.conditions).toHaveLength(3)
      expect(p.apply.length).toBeGreaterThan(0)
    },
  )

  property("is deterministic: equal inputs give equal plans, down to key order", [scenario], ({ ws, obs }) => {
    const a = plan(ws, obs)
    const b = plan(structuredClone(ws), structuredClone(obs))
    expect(JSON.stringify(b)).toBe(JSON.stringify(a))
  })

  property(
    "is idempotent: planning against the observed result of a plan applies the same objects",
    [scenario, fc.boolean()],
    ({ ws, obs }, ready) => {
      const first = plan(ws, obs)
      const second = plan(ws, observeApplied(first, { previous: obs, ready }))
      expect(second.apply).toEqual(first.apply)
    },
  )

  property(
    "reaches a fixpoint: once its own result is observed, planning again changes nothing, status included",
    [scenario],
    ({ ws, obs }) => {
      const first = plan(ws, obs)
      const o1 = observeApplied(first, { previous: obs })
      const second = plan(ws, o1)
      const third = plan(ws, observeApplied(second, { previous: o1 }))
      expect(third).toEqual(second)
    },
  )

  property("converges once its Jobs succeed (the backup, then the migration), and stays there", [workspace()], (ws) => {
    const fresh = plan(ws, nothingObserved(inputs))
    const backedUp = plan(ws, observeApplied(fresh, { ...inputs, migration: "succeeded" }))
    const migrated = plan(ws, observeApplied(backedUp, { ...inputs, migration: "succeeded" }))
    const again = plan(ws, observeApplied(migrated, { ...inputs, migration: "succeeded" }))
    expect(again.apply).toEqual(migrated.apply)
    const server = migrated.apply.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-orion-server"))
    expect(server?.kind === "Deployment" && server.spec.replicas).toBe(ws.spec.workflows.controllerReplicas)
  })

  property(
    "keeps every lastTransitionTime when re-planned later with the same observations",
    [scenario],
    ({ ws, obs }) => {
      const first = plan(ws, obs)
      const later = plan(ws, { ...obs, now: "2099-01-01T00:00:00Z", previousStatus: first.status })
      expect(later.status).toEqual(first.status)
    },
  )

  property(
    "gives every object a valid name and valid labels, selectors that match their pods, and hardened pods",
    [scenario],
    ({ ws, obs }) => {
      const p = plan(ws, obs)
      for (const object of p.apply) {
        expect(violations(object)).toEqual([])
        expect(object.metadata.labels[labelKeys.environment]).toBe(ws.metadata.name)
        expect(object.metadata.labels[labelKeys.managedBy]).toBe("cartographer")
        const pod = podSpecOf(object)
        if (pod === undefined) continue
        for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
          expect(container.securityContext.allowPrivilegeEscalation).toBe(false)
          expect(container.securityContext.capabilities.drop).toEqual(["ALL"])
          expect(container.securityContext.runAsNonRoot).toBe(true)
          // The Prefect images' entrypoint must stay: Prefect commands go in args.
          if (container.image.includes("prefect")) expect(container.command).toBeUndefined()
        }
        // Only a kubernetes worker talks to the Kubernetes API; a cloud identity's ServiceAccount gets no token.
        const isKubernetesWorker = pod.initContainers?.some((c) => c.name === "base-job-template") === true
        expect(pod.automountServiceAccountToken).toBe(isKubernetesWorker)
      }
    },
  )

  property(
    "makes the Workspace the controller owner of all but the retained volume and Secret and other namespaces' RBAC",
    [scenario],
    ({ ws, obs }) => {
      const namespace = ws.metadata.namespace ?? "default"
      for (const object of plan(ws, obs).apply) {
        const refs = object.metadata.ownerReferences
        const retained =
          (object.kind === "PersistentVolumeClaim" || object.kind === "Secret") &&
          !ws.spec.workflows.database.deleteVolumeWithWorkspace
        if (ws.metadata.uid === undefined || retained || object.metadata.namespace !== namespace)
          expect(refs).toBeUndefined()
        else
          expect(refs).toEqual([
            {
              apiVersion: "mlops.aigency.com/v1alpha1",
              kind: "Workspace",
              name: ws.metadata.name,
              uid: ws.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ])
      }
    },
  )

  property(
    "never rolls the server out, nor starts it, onto a database whose schema the image refused as newer",
    [scenario],
    ({ ws, obs }) => {
      const hash = currentJobName(ws).slice(-8)
      // The gate reads this migration's latest attempt, unless one succeeded (plan/migration.ts).
      const attempts = (obs.migrationJobs ?? []).filter((j) => j.hash === hash)
      const latest = attempts.reduce<(typeof attempts)[number] | undefined>(
        (a, b) => (a === undefined || (b.attempt ?? 1) > (a.attempt ?? 1) ? b : a),
        undefined,
      )
      fc.pre(
        latest?.state === "failed" &&
          latest.message?.includes(schemaGuardMarker) === true &&
          !attempts.some((j) => j.state === "succeeded") &&
          obs.server?.migrationHash !== hash,
      )
      const p = plan(ws, obs)
      const server = p.apply.find((o) => o.kind === "Deployment" && o.metadata.labels[labelKeys.component] === "server")
      if (server?.kind !== "Deployment") throw new Error("no server planned")
      const image = server.spec.template.spec.containers[0]?.image
      if (obs.server?.migrationHash !== undefined && obs.server.image !== undefined)
        expect(image).toBe(obs.server.image)
      else expect(server.spec.replicas).toBe(0)
      // No further attempt: only another image can help.
      expect(
        p.apply.filter((o) => o.kind === "Job" && o.metadata.labels[labelKeys.component] === "migration"),
      ).toHaveLength(1)
      const degraded = p.status.conditions?.find((c) => c.type === "Degraded")
      // A missing Secret explains everything else and comes first (plan/status.ts).
      if (degraded?.reason === "DatabaseSecretMissing" || degraded?.reason === "SecretMissing") return
      expect(degraded).toMatchObject({ status: "True", reason: "DatabaseNewerThanImage" })
      expect(degraded?.message).toContain("Prefect 3.9.1 or newer")
    },
  )

  property(
    "never rotates an existing database Secret: observed values are applied unchanged",
    [scenario],
    ({ ws, obs }) => {
      const secret = plan(ws, obs).apply.find((o) => o.kind === "Secret")
      if (secret?.kind !== "Secret" || obs.secret === undefined) return
      for (const [k, v] of Object.entries(obs.secret.data)) expect(secret.data[k]).toBe(v)
    },
  )

  property("never selects a Secret or a PersistentVolumeClaim for pruning", [scenario], ({ ws, obs }) => {
    for (const selector of plan(ws, obs).prune) expect(["Secret", "PersistentVolumeClaim"]).not.toContain(selector.kind)
  })
})

/** A Workspace plus a pool it does not have yet. */
const withExtraPool = workspace().chain((ws) =>
  poolDocument(Math.min(24, 63 - ws.metadata.name.length - "-agent-".length))
    .filter((pool) => !ws.spec.workflows.agentPools.some((p) => p.name === pool.name))
    .map((pool) => ({ ws, pool })),
)

const addPool = (ws: Workspace, pool: unknown): Workspace =>
  decode({
    ...ws,
    spec: { workflows: { ...ws.spec.workflows, agentPools: [...ws.spec.workflows.agentPools, pool] } },
  })

describe("pools", () => {
  property(
    "adding a pool only adds that pool's objects and prunes nothing",
    [withExtraPool, fc.boolean()],
    ({ ws, pool }, migrated) => {
      const before = plan(ws, nothingObserved(inputs))
      const observed = observeApplied(before, { ...inputs, migration: migrated ? "succeeded" : "running" })
      const now = plan(ws, observed)
      const grown = plan(addPool(ws, pool), observed)
      const old = byKey(now.apply)
      const added = grown.apply.filter((o) => !old.has(key(o)))
      expect(added.length).toBeGreaterThan(0)
      for (const o of added) expect(o.metadata.labels[labelKeys.pool]).toBe(pool.name)
      for (const o of grown.apply) if (old.has(key(o))) expect(o).toEqual(old.get(key(o)))
      expect(grown.apply.length).toBe(now.apply.length + added.length)
      expect(pruneTargets(grown.prune, inventory(now))).toEqual([])
    },
  )

  property(
    "removing a pool prunes exactly that pool's objects and changes nothing else",
    [withExtraPool.map(({ ws, pool }) => addPool(ws, pool)), fc.nat()],
    (ws, pick) => {
      const pools = ws.spec.workflows.agentPools
      const removed = pools[pick % pools.length] as AgentPool
      const shrunk = decode({
        ...ws,
        spec: { workflows: { ...ws.spec.workflows, agentPools: pools.filter((p) => p !== removed) } },
      })
      const before = plan(ws, nothingObserved(inputs))
      const observed: Observed = observeApplied(before, inputs)
      const stable = plan(ws, observed)
      const after = plan(shrunk, observed)
      const pruned = pruneTargets(after.prune, inventory(stable))
      const poolObjects = stable.apply.filter((o) => o.metadata.labels[labelKeys.pool] === removed.name)
      expect(pruned.map((o) => `${o.kind}/${o.namespace}/${o.name}`).sort()).toEqual(
        poolObjects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort(),
      )
      const remaining = stable.apply.filter((o) => o.metadata.labels[labelKeys.pool] !== removed.name)
      expect(after.apply).toEqual(remaining)
    },
  )
})

describe("names", () => {
  property(
    "every object planned for a Workspace of the longest allowed name is a valid, working name",
    [dnsLabel(maxWorkspaceNameLength)],
    (name) => {
      const ws = decode({
        apiVersion: "mlops.aigency.com/v1alpha1",
        kind: "Workspace",
        metadata: { name },
        spec: { workflows: { agentPools: [{ name: "a" }] } },
      })
      for (const o of plan(ws, nothingObserved(inputs)).apply) {
        const limit = o.kind === "StatefulSet" ? maxStatefulSetNameLength : 63
        expect(o.metadata.name.length, `${o.kind} ${o.metadata.name}`).toBeLessThanOrEqual(limit)
      }
    },
    { numRuns: 100 },
  )
})
