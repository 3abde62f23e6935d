// What the status says when a component's pods do not start for a reason the API server cannot catch when the
// Workspace is applied: a node selector no node matches, a ServiceAccount that does not exist. The engine reads the
// pods (and the Deployment's ReplicaFailure) and names the Workspace field that describes them.
import { Kinds } from "@cartographer/k8s"
import { eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { condition, engineSuite, podsRun, withWorkflows } from "./support.js"

const suite = engineSuite("engine-pod-diagnosis")

suite.tests("pods that do not start", "180 seconds", (test) => {
  test.skipIf(!podsRun())(
    "are reported as Degraded/PodsFailing with the pool's path: no node fits one pool, another's ServiceAccount is missing",
    function* (admin) {
      // Looked at again while progressing: a pod becomes unschedulable after the reconcile that created it.
      yield* suite.startEngine({ progressingRequeue: "2 seconds" })
      yield* suite.apply(
        withWorkflows(suite.sample("basic-workspace.yaml", "stuck"), {
          agentPools: [
            { name: "nowhere", nodeSelector: { "cartographer.test/no-such-node": "true" } },
            { name: "nobody", serviceAccount: { name: "does-not-exist" } },
          ],
        }),
      )
      const workspace = yield* eventually(
        admin.get(Kinds.Workspace, { namespace: suite.namespace, name: "stuck" }).pipe(
          Effect.filterOrFail((w) => {
            const message = condition(w, "Degraded")?.message ?? ""
            return message.includes("(pool nowhere): Unschedulable") && message.includes("(pool nobody): FailedCreate")
          }),
        ),
        "150 seconds",
        "1 second",
      )
      const degraded = condition(workspace, "Degraded")
      assert.strictEqual(degraded?.reason, "PodsFailing")
      assert.include(degraded?.message ?? "", "spec.workflows.agentPools[0] (pool nowhere): Unschedulable")
      assert.include(degraded?.message ?? "", "spec.workflows.agentPools[1] (pool nobody): FailedCreate")
      assert.include(degraded?.message ?? "", "does-not-exist")
    },
  )
})
