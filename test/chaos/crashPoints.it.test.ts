// Sieve's "intermediate state" class: the operator dies right after a write, before the next one (an injected crash
// point: the engine's afterWrite hook SIGKILLs the process; the API server cannot produce this on its own). A new
// process must pick up from whatever half-done state is left and reach exactly the state an uninterrupted run
// reaches. One Workspace with the most children (a kubernetes pool: 13 children, RBAC included); the default run
// crashes after the first, a middle and the last write of its reconciles, `npm run chaos` after every one.
import { managedKindNames } from "@cartographer/reconciler"
import { intentAnnotation } from "@cartographer/reconciler/testing"
import { describe, expect, it } from "vitest"
import type { BenchCluster } from "../bench/support/benchCluster.js"
import type { EngineHostEvent } from "../bench/support/engineHost.js"
import { eventOf } from "../bench/support/operatorProcess.js"
import { createNamespace, createWorkspaceAt } from "../bench/support/setup.js"
import { startOperator, usePrivateCluster } from "./support/cluster.js"
import { fixpointWrites, list, waitConverged, waitSettled } from "./support/convergence.js"
import { chaosScale } from "./support/scale.js"

const cluster = usePrivateCluster()
/** benchWorkspaces' sample 3: the kubernetes-pool Workspace. */
const sample = 3
const kinds = ["Workspace", ...managedKindNames]

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gu

/**
 * Everything about a namespace's objects that must not depend on which run made them: no uids, resourceVersions,
 * timestamps, generations, allocated cluster IPs, the namespace's name, the random database password, or the intent hash.
 */
const finalState = async (c: BenchCluster, namespace: string): Promise<Record<string, unknown>> => {
  const state: Record<string, unknown> = {}
  for (const kind of kinds) {
    for (const object of await list(c, kind, namespace)) {
      const text = JSON.stringify(object).replaceAll(namespace, "<ns>").replace(uuid, "<uuid>")
      const o = JSON.parse(text) as {
        metadata: Record<string, unknown> & { annotations?: Record<string, string> }
        data?: Record<string, string>
        spec?: { clusterIP?: string; clusterIPs?: Array<string> }
        status?: { conditions?: Array<Record<string, unknown>> }
      }
      for (const field of ["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"])
        delete o.metadata[field]
      if (o.metadata.annotations !== undefined) delete o.metadata.annotations[intentAnnotation]
      if (kind === "Secret" && o.data !== undefined)
        o.data = Object.fromEntries(Object.keys(o.data).map((k) => [k, "<redacted>"]))
      for (const condition of o.status?.conditions ?? []) delete condition.lastTransitionTime
      // Allocated by the API server, different in every namespace.
      if (kind === "Service" && o.spec !== undefined) {
        delete o.spec.clusterIP
        delete o.spec.clusterIPs
      }
      state[`${kind}/${String(o.metadata.name)}`] = o
    }
  }
  return state
}

const run = async (c: BenchCluster, namespace: string, crashAfterWrites?: number) => {
  await createNamespace(c.api, namespace)
  await createWorkspaceAt(c.api, namespace, sample)
  const first = await startOperator(c, {
    identity: namespace,
    namespaces: [namespace],
    faults: { reportWrites: true, ...(crashAfterWrites === undefined ? {} : { crashAfterWrites }) },
  })
  let writes: ReadonlyArray<EngineHostEvent> = []
  if (crashAfterWrites !== undefined) {
    // The crash point fires only if this run makes that many writes. The count can differ from the reference's by a
    // write (an event-triggered reconcile may apply a child again before its first write is in the cache), so a run
    // that settles with fewer writes ends here instead of waiting for a crash that cannot come.
    const settledFirst = (async () => {
      await first.waitFor(eventOf("synced"), 60_000)
      await waitConverged(c, namespace, 60_000, first)
      await waitSettled(c, namespace, first)
      return "settled" as const
    })().catch(() => "failed" as const)
    const outcome = await Promise.race([first.exited, settledFirst])
    writes = first.events.filter((e) => e.event === "write")
    if (outcome === "settled") {
      await first.stop()
      return { writes, crashed: false, state: await finalState(c, namespace) }
    }
    expect(outcome, "the crash point did not fire").toBe("SIGKILL")
    const restarted = await startOperator(c, {
      identity: `${namespace}-restarted`,
      namespaces: [namespace],
      faults: { reportWrites: true },
    })
    await waitConverged(c, namespace, 60_000, restarted)
    await waitSettled(c, namespace, restarted)
    await restarted.stop()
  } else {
    await first.waitFor(eventOf("synced"), 60_000)
    await waitConverged(c, namespace, 60_000, first)
    await waitSettled(c, namespace, first)
    await first.stop()
    writes = first.events.filter((e) => e.event === "write")
  }
  return { writes, crashed: crashAfterWrites !== undefined, state: await finalState(c, namespace) }
}

describe("a crash after each write of a reconcile", () => {
  let reference: Awaited<ReturnType<typeof run>> | undefined

  it("an uninterrupted run converges to a fixpoint (the reference)", async () => {
    reference = await run(cluster(), "crash-reference")
    expect(reference.writes.length).toBeGreaterThan(10)
    expect(await fixpointWrites(cluster(), "crash-reference")).toEqual([])
  }, 300_000)

  it("after a crash at any write, a new process converges to the reference's state", async () => {
    const writes = reference?.writes ?? []
    const every = writes.map((_, i) => i + 1)
    const points = chaosScale() === "full" ? every : [...new Set([1, Math.ceil(every.length / 2), every.length])]
    const describeWrite = (n: number) => {
      const w = writes[n - 1]
      return w?.event === "write" ? `${w.write.verb} ${w.write.kind} ${w.write.name}` : `write ${n}`
    }
    let crashes = 0
    for (const point of points) {
      const trial = await run(cluster(), `crash-${point}`, point)
      if (trial.crashed) {
        crashes++
        expect(trial.writes.length, `crash point ${point}`).toBe(point)
      } else {
        // This run needed fewer writes than the reference: nothing to crash after, but it must end the same.
        expect(trial.writes.length, `crash point ${point} not reached`).toBeLessThan(point)
      }
      expect(trial.state, `crashed after write ${point} (${describeWrite(point)})`).toEqual(reference?.state)
    }
    expect(crashes, "crash points that fired").toBeGreaterThanOrEqual(Math.min(points.length, 2))
  }, 900_000)
})
