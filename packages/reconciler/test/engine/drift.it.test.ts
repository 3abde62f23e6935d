// Drift repair and the limits of ownership: what the engine restores within one reconcile, what it leaves alone,
// and what it prunes. The engine runs as the operator's ServiceAccount; "no writes" is read from the API server's
// audit log, not from the engine. (An invalid spec, which today's CRD refuses at the door, reaches the engine after a
// CRD upgrade: test/chaos/crdUpgrade.it.test.ts.)

import { Kinds, type KubeObject } from "@cartographer/k8s"
import { eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { engineSuite, statusCurrent, withWorkflows } from "./support.js"

const suite = engineSuite("engine-drift")
const { namespace } = suite

const workspace = (name: string, workflows: Record<string, unknown> = {}): KubeObject =>
  withWorkflows(suite.sample("basic-workspace.yaml", name), workflows)

/** Waits until the engine has written a status for the Workspace's current generation. */
const settled = (name: string) => eventually(statusCurrent({ namespace, name }))

/** Mutating requests the operator made since `since`, as the API server's audit log recorded them. */
const writesSince = (since: Date) => suite.writesSince(since)

const describeWrite = (e: { verb: string; objectRef?: { resource?: string; subresource?: string; name?: string } }) =>
  `${e.verb} ${e.objectRef?.resource ?? "?"}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""} ${e.objectRef?.name ?? ""}`

/** The operator's writes to one object since `since`, described. */
const writesTo = (since: Date, resource: string, name: string) =>
  writesSince(since).pipe(
    Effect.map((writes) =>
      writes.filter((e) => e.objectRef?.resource === resource && e.objectRef.name === name).map(describeWrite),
    ),
  )

/**
 * An engine that resyncs every 2 seconds, and a wait for two more reconciles of a Workspace from the moment it runs:
 * the one its change's own event triggers, then a resync.
 */
const resyncingEngine = Effect.gen(function* () {
  const reconciled: Array<string> = []
  yield* suite.startEngine({
    resyncPeriod: "2 seconds",
    observer: { reconciled: ({ key }) => reconciled.push(key), queue: () => {} },
  })
  const twoMoreReconciles = (name: string) =>
    Effect.suspend(() => {
      const from = reconciled.length
      return eventually(
        Effect.suspend(() =>
          reconciled.slice(from).filter((k) => k === `${namespace}/${name}`).length >= 2
            ? Effect.void
            : Effect.fail("no resync yet"),
        ),
      )
    })
  return { twoMoreReconciles }
})

suite.tests("drift repair", "240 seconds", (test) => {
  test("restores a deleted child within one reconcile", function* (admin) {
    yield* suite.startEngine()
    yield* suite.apply(workspace("deleted"))
    const ref = { namespace, name: "deleted-orion-server" }
    const before = yield* eventually(admin.get(Kinds.Service, ref))
    yield* admin.delete(Kinds.Service, ref)
    const after = yield* eventually(
      admin.get(Kinds.Service, ref).pipe(Effect.filterOrFail((s) => s.metadata.uid !== before.metadata.uid)),
    )
    const spec = (service: KubeObject) => {
      const { ports, selector, type } = service.spec as Record<string, unknown>
      return { ports, selector, type }
    }
    assert.deepStrictEqual(spec(after), spec(before))
  })

  test("restores an owned field edited by someone else (a kubectl edit of replicas and image)", function* (admin) {
    yield* suite.startEngine()
    yield* suite.apply(workspace("edited"))
    const ref = { namespace, name: "edited-agent-default" }
    type Spec = { replicas: number; template: { spec: { containers: Array<{ image: string }> } } }
    const before = yield* eventually(admin.get(Kinds.Deployment, ref))
    const image = (before.spec as Spec).template.spec.containers[0]?.image
    // An update (what kubectl edit sends), not an apply: the editor takes the fields over. Like kubectl edit, it
    // reads again and retries when the object changed in between (the Deployment controller writes to it too).
    const edit = Effect.gen(function* () {
      const live = yield* admin.get(Kinds.Deployment, ref)
      const spec = live.spec as Spec
      const { managedFields: _, ...metadata } = live.metadata
      yield* admin.replace(
        Kinds.Deployment,
        {
          ...live,
          metadata,
          spec: {
            ...spec,
            replicas: 5,
            template: {
              ...spec.template,
              spec: {
                ...spec.template.spec,
                containers: spec.template.spec.containers.map((c) => ({ ...c, image: "busybox:1" })),
              },
            },
          },
        },
        { fieldManager: "kubectl-edit" },
      )
    })
    yield* edit.pipe(Effect.retry({ while: (error) => error.reason._tag === "Conflict", times: 10 }))
    const restored = yield* eventually(
      admin.get(Kinds.Deployment, ref).pipe(
        Effect.map((d) => d.spec as Spec),
        Effect.filterOrFail((s) => s.replicas === 1 && s.template.spec.containers[0]?.image === image),
      ),
    )
    assert.strictEqual(restored.replicas, 1)
  })

  test("leaves a label a user added alone, also across a resync, and writes nothing for it", function* (admin) {
    const { twoMoreReconciles } = yield* resyncingEngine
    yield* suite.apply(workspace("labelled"))
    yield* settled("labelled")
    // The server Service: unlike the workloads, nothing about it changes while the Workspace comes up.
    const ref = { namespace, name: "labelled-orion-server" }
    yield* eventually(admin.get(Kinds.Service, ref))
    yield* admin.apply(
      Kinds.Service,
      { metadata: { name: ref.name, namespace, labels: { "team.example.com/owner": "data-science" } } },
      { fieldManager: "a-user" },
    )
    const since = new Date()
    yield* twoMoreReconciles("labelled")
    const live = yield* admin.get(Kinds.Service, ref)
    assert.strictEqual(live.metadata.labels?.["team.example.com/owner"], "data-science")
    assert.deepStrictEqual(yield* writesTo(since, "services", ref.name), [])
  })

  test("leaves an autoscaled pool's replicas to its autoscaler, also across a resync, and reports them", function* (admin) {
    const { twoMoreReconciles } = yield* resyncingEngine
    yield* suite.apply(workspace("scaled", { agentPools: [{ name: "default", replicas: 2, autoscaled: true }] }))
    yield* settled("scaled")
    const ref = { namespace, name: "scaled-agent-default" }
    const created = yield* eventually(admin.get(Kinds.Deployment, ref))
    // Not set by the operator: the API's default until an autoscaler acts.
    assert.strictEqual((created.spec as { replicas?: number }).replicas, 1)
    // What an autoscaler does: set replicas under its own field manager (the operator holds no claim on them).
    yield* admin.apply(
      Kinds.Deployment,
      { metadata: { name: ref.name, namespace }, spec: { replicas: 4 } },
      { fieldManager: "an-autoscaler", force: false },
    )
    const since = new Date()
    yield* twoMoreReconciles("scaled")
    const live = yield* admin.get(Kinds.Deployment, ref)
    assert.strictEqual((live.spec as { replicas?: number }).replicas, 4)
    assert.deepStrictEqual(yield* writesTo(since, "deployments", ref.name), [])
    // The status reports the pool at the size its autoscaler chose.
    yield* eventually(
      Effect.gen(function* () {
        const ws = yield* admin.get(Kinds.Workspace, { namespace, name: "scaled" })
        const pools = (ws.status as { pools?: Array<{ name: string; replicas: number }> } | undefined)?.pools
        const pool = pools?.find((p) => p.name === "default")
        return pool?.replicas === 4 ? pool : yield* Effect.fail("status does not show 4 replicas yet")
      }),
    )
  })

  test("prunes a removed pool, and leaves the database volume and Secret untouched", function* (admin) {
    yield* suite.startEngine()
    const pools = [
      { name: "default", replicas: 1 },
      { name: "extra", replicas: 1 },
    ]
    yield* suite.apply(workspace("pruned", { agentPools: pools }))
    const extra = { namespace, name: "pruned-agent-extra" }
    yield* eventually(admin.get(Kinds.Deployment, extra))
    const pvc = yield* admin.get(Kinds.PersistentVolumeClaim, { namespace, name: "pruned-orion-database-pvc" })
    const secret = yield* admin.get(Kinds.Secret, { namespace, name: "pruned-environment-secrets" })
    const since = new Date()
    yield* suite.apply(workspace("pruned", { agentPools: [pools[0]] }))
    yield* eventually(
      admin.get(Kinds.Deployment, extra).pipe(
        Effect.flip,
        Effect.filterOrFail((e) => e.reason._tag === "NotFound"),
      ),
    )
    yield* eventually(admin.get(Kinds.Deployment, { namespace, name: "pruned-agent-default" }))
    const pvcAfter = yield* admin.get(Kinds.PersistentVolumeClaim, pvc.metadata)
    const secretAfter = yield* admin.get(Kinds.Secret, secret.metadata)
    assert.strictEqual(pvcAfter.metadata.uid, pvc.metadata.uid)
    assert.strictEqual(secretAfter.metadata.resourceVersion, secret.metadata.resourceVersion)
    assert.deepStrictEqual(secretAfter.data, secret.data)
    const writes = (yield* writesSince(since)).map(describeWrite)
    assert.include(writes, "delete deployments pruned-agent-extra")
    assert.isFalse(
      writes.some((w) => w.includes("secrets") || w.includes("persistentvolumeclaims")),
      writes.join(),
    )
  })
})
