// The no-op check (NoOp.holds) against what the real API server makes of an applied object — defaults added, empty
// values dropped, quantities normalised, other managers' edits: every planned object of generated Workspaces holds as
// the engine's cache would see it right after its apply (or a converged Workspace would be re-applied on every
// resync), and a field someone else changed, scaled or removed does not.
import { Kinds, KubeClient, type KubeObject, type Live } from "@cartographer/k8s"
import { validateWorkspace } from "@cartographer/schema"
import { workspaceDocument } from "@cartographer/schema/testing"
import { installHttpRouteCrd, sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { Effect } from "effect"
import fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { slim } from "../../src/engine/Cache.js"
import { managedKinds } from "../../src/engine/ManagedKinds.js"
import { holds, withIntent } from "../../src/engine/NoOp.js"
import { nothingObserved } from "../../src/index.js"
import { plan } from "../../src/plan/planner.js"
import { inputs } from "../fixtures.js"
import { Admin, sample } from "./support.js"

const namespace = useNamespace("engine-noop")
const fieldManager = "noop-test"
/** What the engine's caches hold of a live object. */
const cached = slim

const run = <A, E>(effect: Effect.Effect<A, E, Admin>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provide(Admin.layer)))

/** Creates the Workspace, applies its first plan's objects in this namespace as the engine would; each with its live copy. */
const applyPlan = (document: KubeObject) =>
  Effect.gen(function* () {
    const admin = yield* Admin
    const created = yield* admin.apply(Kinds.Workspace, document, { fieldManager: "noop-test-user", force: true })
    const decoded = validateWorkspace(created, { unknownFields: "ignore" })
    if (!decoded.ok) return yield* Effect.die(new Error(`does not decode: ${JSON.stringify(decoded.issues)}`))
    const objects = plan(decoded.value, nothingObserved(inputs)).apply.filter((o) => o.metadata.namespace === namespace)
    const applied: Array<{ desired: KubeObject; answer: Live<KubeObject>; live: Live<KubeObject> }> = []
    for (const object of objects) {
      const desired: KubeObject = { ...withIntent(object) }
      const answer = yield* admin.apply(managedKinds[object.kind], desired, { fieldManager, force: true })
      const live = yield* admin.get(managedKinds[object.kind], object.metadata)
      applied.push({ desired, answer, live })
    }
    return applied
  })

const describeObject = (o: KubeObject) => `${o.kind} ${o.metadata?.name}`

describe("the no-op check, against the API server", () => {
  // Generated Workspaces may ask for an HTTPRoute: its CRD's defaults must hold as well (kept for the rest of the run).
  beforeAll(
    () =>
      Effect.runPromise(installHttpRouteCrd.pipe(Effect.provide(KubeClient.layer(sharedControlPlane().kubeConfig)))),
    300_000,
  )
  it("holds every planned object of generated Workspaces as applied (no write at rest)", async () => {
    let i = 0
    await fc.assert(
      fc.asyncProperty(workspaceDocument({ maxNameLength: 20 }), async (generated) => {
        const document = generated as KubeObject
        // A fresh name each run: PVC and StatefulSet claim templates are immutable, a reused name could not change.
        const name = `noop-${i++}`
        const applied = await run(applyPlan({ ...document, metadata: { name, namespace } }))
        expect(applied.length).toBeGreaterThan(0)
        const missed = applied
          .filter(({ desired, answer, live }) => !holds(desired, cached(live)) || !holds(desired, cached(answer)))
          .map(({ desired }) => describeObject(desired))
        expect(missed).toEqual([])
      }),
      {
        numRuns: 8,
        // An env var set to "": the API server stores it without `value` (found by this property).
        examples: [
          [
            {
              apiVersion: "mlops.aigency.com/v1alpha1",
              kind: "Workspace",
              metadata: { name: "qs" },
              spec: { workflows: { agentPools: [{ name: "aa", env: [{ name: "FOO", value: "" }] }] } },
            },
          ],
          // What the server drops from pod fields a team writes: empty maps and lists, a `readOnly: false`, an empty
          // toleration value or emptyDir medium (found by this property).
          [
            {
              apiVersion: "mlops.aigency.com/v1alpha1",
              kind: "Workspace",
              metadata: { name: "qp" },
              spec: {
                workflows: {
                  tolerations: [{ key: "pool", operator: "Equal", value: "", effect: "NoSchedule" }],
                  affinity: {
                    podAntiAffinity: {
                      preferredDuringSchedulingIgnoredDuringExecution: [
                        {
                          weight: 1,
                          podAffinityTerm: {
                            topologyKey: "kubernetes.io/hostname",
                            labelSelector: { matchLabels: {}, matchExpressions: [] },
                            namespaces: [],
                          },
                        },
                      ],
                    },
                  },
                  agentPools: [
                    {
                      name: "aa",
                      volumes: [
                        { name: "cache", emptyDir: { medium: "" } },
                        { name: "data", persistentVolumeClaim: { claimName: "d", readOnly: false } },
                      ],
                      volumeMounts: [
                        { name: "cache", mountPath: "/mnt/cache", readOnly: false },
                        { name: "data", mountPath: "/mnt/data" },
                      ],
                    },
                  ],
                },
              },
            },
          ],
        ],
      },
    )
  })

  it("reads a field another manager changed, scaled or removed as drift, and one it added as no change", async () => {
    const applied = await run(applyPlan(sample("basic-workspace.yaml", namespace, "noop-drift")))
    const server = applied.find(
      ({ desired }) => desired.kind === "Deployment" && desired.metadata?.name?.endsWith("-orion-server"),
    )
    if (server === undefined) throw new Error("no server Deployment planned")
    const { desired } = server
    const ref = { namespace, name: desired.metadata?.name ?? "" }
    // biome-ignore lint/suspicious/noExplicitAny: the edits reach deep into Kubernetes JSON, as NoOp.test.ts's do.
    const edit = (change: (live: any) => void) =>
      run(
        Effect.gen(function* () {
          const admin = yield* Admin
          const live = structuredClone(yield* admin.get(Kinds.Deployment, ref))
          change(live)
          // A plain update (kubectl edit / scale): the fields it changes move to its manager.
          yield* admin.replace(Kinds.Deployment, live, { fieldManager: "kubectl-edit" })
          return yield* admin.get(Kinds.Deployment, ref)
        }),
      )
    const reapply = () =>
      run(Effect.flatMap(Admin, (admin) => admin.apply(Kinds.Deployment, desired, { fieldManager, force: true })))

    const labelled = await edit((live) => {
      live.metadata.labels = { ...live.metadata.labels, "team/owner": "ml" }
    })
    expect(holds(desired, cached(labelled))).toBe(true)

    const edited = await edit((live) => {
      live.spec.template.spec.containers[0].image = "prefecthq/prefect:edited"
    })
    expect(holds(desired, cached(edited))).toBe(false)
    expect(holds(desired, cached(await reapply()))).toBe(true)

    const scaled = await edit((live) => {
      live.spec.replicas = 5
    })
    expect(holds(desired, cached(scaled))).toBe(false)
    expect(holds(desired, cached(await reapply()))).toBe(true)

    const removed = await edit((live) => {
      live.spec.template.spec.containers[0].env = live.spec.template.spec.containers[0].env.slice(1)
    })
    expect(holds(desired, cached(removed))).toBe(false)
    expect(holds(desired, cached(await reapply()))).toBe(true)
  })
})
