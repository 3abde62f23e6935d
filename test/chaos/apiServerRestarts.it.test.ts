// kube-apiserver stopped and started again, over and over, while Workspaces converge and their specs change: the
// operator must ride it out (never exit), and end with every Workspace exactly as its LAST spec says (no lost
// update). 20 Workspaces and 2 restarts in the default run; 200 and 10 under `npm run chaos`.
import { describe, expect, it } from "vitest"
import { workspaceName } from "../bench/support/benchWorkspaces.js"
import { eventOf } from "../bench/support/operatorProcess.js"
import { createNamespace, createWorkspaces } from "../bench/support/setup.js"
import { patchWorkflows, sleep, startOperator, usePrivateCluster } from "./support/cluster.js"
import { fixpointWrites, waitConverged, waitSettled } from "./support/convergence.js"
import { bySize } from "./support/scale.js"

const { workspaces, restarts } = bySize({
  smoke: { workspaces: 20, restarts: 2 },
  full: { workspaces: 200, restarts: 10 },
})
const cluster = usePrivateCluster()
const namespace = "restarts"

/** The spec change of round `round` for Workspace `index`: Redis on/off (children appear and are pruned), image. */
const change = (round: number, index: number) => ({
  controllerReplicas: (round + index) % 2 === 0 ? 1 : 2,
  image: round % 2 === 0 ? "prefecthq/prefect:3.9.1-python3.12" : "prefecthq/prefect:3.8.8-python3.11",
})

describe("kube-apiserver restarts", () => {
  it(`converge ${workspaces} Workspaces to their last spec while kube-apiserver restarts ${restarts} times, and the operator never exits`, async () => {
    const c = cluster()
    await createNamespace(c.api, namespace)
    const operator = await startOperator(c, { identity: "restarts", namespaces: [namespace] })
    await operator.waitFor(eventOf("synced"), 60_000)
    await createWorkspaces(c.api, namespace, workspaces)
    for (let round = 1; round <= restarts; round++) {
      // Let some reconciles start, change a third of the specs, then pull the API server from under them.
      await sleep(300 + ((round * 211) % 700))
      for (let i = round % 3; i < workspaces; i += 3)
        await patchWorkflows(c, namespace, workspaceName(i), change(round, i))
      await c.controlPlane.restartApiServer()
      expect(operator.running(), operator.stderrTail()).toBe(true)
    }
    await waitConverged(c, namespace, 180_000, operator)
    expect(operator.running(), "the operator exited").toBe(true)
    await waitSettled(c, namespace, operator)
    await operator.stop()
    expect(await fixpointWrites(c, namespace)).toEqual([])
  }, 900_000)
})
