// etcd compacted and kube-apiserver restarted (so that its watch cache forgets the old history too) while Workspaces
// converge: the operator's watches resume from resourceVersions that no longer exist, get 410 Gone, and must relist.
// In the gap, children are deleted behind its back and specs change so that children must be pruned; no event of
// that reaches it, only the relist: nothing may be missed — no deleted child left unrepaired, no pruned child left.
// 20 Workspaces and 1 compaction in the default run; 200 and 3 under `npm run chaos`.
import { describe, expect, it } from "vitest"
import { auditTail, auditTime } from "../bench/support/auditTail.js"
import { workspaceName } from "../bench/support/benchWorkspaces.js"
import { objectPath } from "../bench/support/objectPaths.js"
import { eventOf } from "../bench/support/operatorProcess.js"
import { createNamespace, createWorkspaces } from "../bench/support/setup.js"
import { patchWorkflows, sleep, startOperator, usePrivateCluster } from "./support/cluster.js"
import { fixpointWrites, list, waitConverged, waitSettled } from "./support/convergence.js"
import { bySize } from "./support/scale.js"

const { workspaces, compactions } = bySize({
  smoke: { workspaces: 20, compactions: 1 },
  full: { workspaces: 200, compactions: 3 },
})
const cluster = usePrivateCluster()
const namespace = "compaction"
const elsewhere = "compaction-churn"

describe("etcd compaction", () => {
  it(`converges ${workspaces} Workspaces and misses no deletion when the operator's watches get 410 Gone ${compactions === 1 ? "once" : `${compactions} times`}`, async () => {
    const c = cluster()
    await createNamespace(c.api, namespace)
    await createNamespace(c.api, elsewhere)
    const operator = await startOperator(c, { identity: "compaction", namespaces: [namespace] })
    await operator.waitFor(eventOf("synced"), 60_000)
    // Every Workspace starts with Redis (controllerReplicas 2), so that dropping it later means pruning.
    await createWorkspaces(c.api, namespace, workspaces)
    for (let i = 0; i < workspaces; i++) await patchWorkflows(c, namespace, workspaceName(i), { controllerReplicas: 2 })
    const tail = auditTail(c.controlPlane.auditLogPath, { fromEnd: true })
    await tail.read()
    let lastRestart = 0
    for (let round = 1; round <= compactions; round++) {
      await sleep(500)
      // The operator is frozen (SIGSTOP) across the gap, so that no event of it can reach it: its connections
      // die with the old kube-apiserver, the new one starts its watch cache at the current revision, and etcd is
      // compacted. When it wakes up, its resourceVersions are gone (410) and only a relist can show it what
      // happened meanwhile.
      operator.signal("SIGSTOP")
      await c.controlPlane.restartApiServer()
      lastRestart = Date.now()
      const services = new Set((await list(c, "Service", namespace)).map((s) => s.metadata.name))
      for (let i = round % 4; i < workspaces; i += 4) {
        // Deletions it must notice: a child removed by someone else, and Redis dropped by a spec change (pruning).
        const server = `${workspaceName(i)}-orion-server`
        if (services.has(server)) {
          await c.api.send({
            method: "DELETE",
            path: objectPath({ kind: "Service", metadata: { name: server, namespace } }),
          })
        }
        await patchWorkflows(c, namespace, workspaceName(i), { controllerReplicas: 1 })
      }
      // Writes it does not watch move etcd's revision on; then the history goes.
      for (let k = 0; k < 20; k++) {
        await c.api.send({
          method: "POST",
          path: `/api/v1/namespaces/${elsewhere}/configmaps`,
          body: { metadata: { generateName: "churn-" }, data: { round: String(round) } },
        })
      }
      await c.controlPlane.compactEtcd()
      operator.signal("SIGCONT")
    }
    await waitConverged(c, namespace, 180_000, operator)
    expect(operator.running(), "the operator exited").toBe(true)
    await waitSettled(c, namespace, operator)
    // The premise: after the last restart the operator relisted (its old resourceVersions were gone).
    const relists = (await tail.read()).filter(
      (e) =>
        e.user.username === c.operator.user &&
        e.verb === "list" &&
        auditTime(e.requestReceivedTimestamp) >= lastRestart,
    )
    expect(relists.length, "the operator never relisted after the compaction").toBeGreaterThan(0)
    await operator.stop()
    expect(await fixpointWrites(c, namespace)).toEqual([])
  }, 900_000)
})
