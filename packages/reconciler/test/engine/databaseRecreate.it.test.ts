// A Postgres StatefulSet planned by an earlier Cartographer is governed by the ClusterIP Service; its `serviceName`
// cannot change in place. The engine deletes it with its pod orphaned and creates it again, governed by the headless
// Service: the same pod (uid) keeps running throughout, adopted by the new StatefulSet.
import { Kinds, type KubeObject } from "@cartographer/k8s"
import { eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { engineSuite, podsRun } from "./support.js"

const suite = engineSuite("engine-db-recreate")
const { namespace } = suite
const name = "upgraded"
const statefulSet = { namespace, name: `${name}-orion-database` }
const pod = { namespace, name: `${name}-orion-database-0` }

const serviceNameOf = (object: KubeObject) => (object.spec as { serviceName?: string }).serviceName

suite.tests("the database StatefulSet", "240 seconds", (test) => {
  test.skipIf(!podsRun())(
    "is re-created around its running pod when an earlier version had it governed by the ClusterIP Service",
    function* (admin) {
      yield* suite.provideVolume(name)
      // The Workspace, converged by the engine.
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* suite.startEngine()
          yield* suite.apply(suite.sample("basic-workspace.yaml", name))
          yield* eventually(
            admin
              .get(Kinds.Pod, pod)
              .pipe(Effect.filterOrFail((p) => (p.status as { phase?: string } | undefined)?.phase === "Running")),
            "120 seconds",
          )
        }),
      )
      // What an earlier version left: the same StatefulSet, governed by `<ws>-orion-database`, owning the same pod.
      const current = yield* admin.get(Kinds.StatefulSet, statefulSet)
      assert.strictEqual(serviceNameOf(current), `${name}-orion-database-headless`)
      yield* admin.delete(Kinds.StatefulSet, statefulSet, { propagationPolicy: "Orphan" })
      yield* eventually(
        admin.get(Kinds.StatefulSet, statefulSet).pipe(
          Effect.flip,
          Effect.filterOrFail((e) => e.reason._tag === "NotFound"),
        ),
      )
      const { metadata } = current
      const spec = current.spec as Record<string, unknown>
      const old = yield* admin.create(Kinds.StatefulSet, {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: {
          name: metadata.name,
          namespace,
          labels: metadata.labels,
          ownerReferences: metadata.ownerReferences,
        },
        spec: { ...spec, serviceName: `${name}-orion-database` },
      } as KubeObject)
      const running = yield* eventually(
        admin
          .get(Kinds.Pod, pod)
          .pipe(Effect.filterOrFail((p) => p.metadata.ownerReferences?.[0]?.uid === old.metadata.uid)),
      )

      // The engine puts the headless Service in charge, keeping the pod.
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* suite.startEngine()
          const recreated = yield* eventually(
            admin
              .get(Kinds.StatefulSet, statefulSet)
              .pipe(Effect.filterOrFail((s) => serviceNameOf(s) === `${name}-orion-database-headless`)),
            "90 seconds",
          )
          assert.notStrictEqual(recreated.metadata.uid, old.metadata.uid)
          const adopted = yield* eventually(
            admin
              .get(Kinds.Pod, pod)
              .pipe(Effect.filterOrFail((p) => p.metadata.ownerReferences?.[0]?.uid === recreated.metadata.uid)),
            "90 seconds",
          )
          assert.strictEqual(adopted.metadata.uid, running.metadata.uid, "the Postgres pod was never replaced")
          yield* suite.waitForCondition(name, "Ready", "True")
        }),
      )
    },
  )
})
