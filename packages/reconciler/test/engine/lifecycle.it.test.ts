// Deletion and refusals: children go with their Workspace through owner references (tier cluster runs the garbage
// collector), the retained volume and Secret stay, pool RBAC in another namespace is removed by the engine without
// any finalizer; a child the API server refuses is reported in the status, not retried with backoff, and looked at
// again later when the refusal came from outside the Workspace.
import { Kinds, type KubeObject } from "@cartographer/k8s"
import { eventually, useNamespace } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { condition, engineSuite, gone, podsRun, withWorkflows } from "./support.js"

const suite = engineSuite("engine-lifecycle")
const { namespace } = suite
const jobs = useNamespace("engine-lifecycle-jobs")

/** A Workspace with a kubernetes pool whose flow-run Jobs go to `jobNamespace`. */
const withJobNamespace = (name: string, jobNamespace: string): KubeObject =>
  withWorkflows(suite.sample("basic-workspace.yaml", name), {
    agentPools: [{ name: "default" }, { name: "jobs", type: "kubernetes", jobNamespace }],
  })

suite.tests("lifecycle", "240 seconds", (test) => {
  test.skipIf(!podsRun())(
    "on deletion, children go by garbage collection, the volume and Secret stay, and RBAC elsewhere is removed",
    function* (admin) {
      yield* suite.startEngine({ namespaces: [namespace, jobs] })
      const workspace = yield* suite.apply(withJobNamespace("deleted", jobs))
      const rbac = { namespace: jobs, name: `deleted-agent-jobs.${namespace}` }
      const role = yield* eventually(admin.get(Kinds.Role, rbac))
      yield* eventually(admin.get(Kinds.RoleBinding, rbac))
      assert.deepStrictEqual(role.metadata.ownerReferences ?? [], [], "no cross-namespace owner reference")
      yield* eventually(admin.get(Kinds.Deployment, { namespace, name: "deleted-orion-server" }))
      assert.deepStrictEqual(workspace.metadata.finalizers ?? [], [])

      yield* admin.delete(Kinds.Workspace, { namespace, name: "deleted" })
      // No finalizer: the Workspace is gone at once.
      yield* gone(admin.get(Kinds.Workspace, { namespace, name: "deleted" }))
      yield* gone(admin.get(Kinds.Deployment, { namespace, name: "deleted-orion-server" }))
      yield* gone(admin.get(Kinds.StatefulSet, { namespace, name: "deleted-orion-database" }))
      yield* gone(admin.get(Kinds.Role, rbac))
      yield* gone(admin.get(Kinds.RoleBinding, rbac))
      yield* admin.get(Kinds.PersistentVolumeClaim, { namespace, name: "deleted-orion-database-pvc" })
      yield* admin.get(Kinds.Secret, { namespace, name: "deleted-environment-secrets" })
    },
  )

  test("reports a child refused for a missing namespace as Degraded/ApplyRejected, applies the rest, and recovers once the namespace exists", function* (admin) {
    const outcomes: Array<string> = []
    yield* suite.startEngine({
      rejectedRecheck: "2 seconds",
      observer: { reconciled: ({ key, result }) => outcomes.push(`${key} ${result}`), queue: () => {} },
    })
    // The Role's namespace does not exist yet: 404 on every attempt until an administrator creates it.
    const late = `${namespace}-late`
    yield* Effect.addFinalizer(() => admin.delete(Kinds.Namespace, { name: late }).pipe(Effect.ignore))
    yield* suite.apply(withJobNamespace("refused", late))
    const degraded = yield* suite.waitForCondition("refused", "Degraded", "True")
    assert.strictEqual(condition(degraded, "Degraded")?.reason, "ApplyRejected")
    assert.include(condition(degraded, "Degraded")?.message, late)
    yield* admin.get(Kinds.Deployment, { namespace, name: "refused-orion-server" })
    yield* admin.get(Kinds.Deployment, { namespace, name: "refused-agent-default" })
    // Not retried with backoff (no error outcome) and not given up (no terminal one): looked at again later.
    const key = `${namespace}/refused`
    yield* Effect.sleep("3 seconds")
    assert.isTrue(outcomes.includes(`${key} requeue`), outcomes.join(", "))
    assert.isFalse(outcomes.includes(`${key} error`), outcomes.join(", "))
    assert.isFalse(outcomes.includes(`${key} terminal`), outcomes.join(", "))

    // The namespace appears; no change to the Workspace: the next recheck applies the pool's RBAC.
    yield* admin.apply(Kinds.Namespace, { metadata: { name: late } }, { fieldManager: "engine-test" })
    yield* eventually(admin.get(Kinds.Role, { namespace: late, name: `refused-agent-jobs.${namespace}` }))
    yield* suite.waitForCondition("refused", "Degraded", "False")
  })
})
