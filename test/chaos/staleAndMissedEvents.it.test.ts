// Sieve's "unobserved state" and "stale state" classes. A real API server does not lose or hold back watch events
// on request, so these two faults are injected in the operator (the engine's beforeEvent hook, see
// packages/reconciler/src/engine/Faults.ts): a mock of a fault the real thing cannot produce, while the API server,
// etcd and every object stay real.
// - Missed events: every child event and half of the Workspace events are dropped. Children deleted behind the
//   operator's back and spec changes may then never be announced; the periodic resync must still converge.
// - Stale cache: every event reaches the cache late, so reconciles read an old world; they must not undo newer state
//   (above all: the database password, created once, is never replaced).
// 10 Workspaces in the default run, 100 under `npm run chaos`.
import { managedKindNames } from "@cartographer/reconciler"
import { pollUntil } from "@cartographer/test/harness"
import { describe, expect, it } from "vitest"
import type { BenchCluster } from "../bench/support/benchCluster.js"
import { workspaceName } from "../bench/support/benchWorkspaces.js"
import { objectPath } from "../bench/support/objectPaths.js"
import { eventOf } from "../bench/support/operatorProcess.js"
import { createNamespace, createWorkspaces } from "../bench/support/setup.js"
import { patchWorkflows, startOperator, usePrivateCluster } from "./support/cluster.js"
import { fixpointWrites, list, waitConverged, waitSettled } from "./support/convergence.js"
import { bySize } from "./support/scale.js"

const workspaces = bySize({ smoke: 10, full: 100 })
const cluster = usePrivateCluster()

/** Deletes every Workspace's server Service and changes every other spec (Redis on): work only a resync can see. */
const disturb = async (c: BenchCluster, namespace: string) => {
  for (let i = 0; i < workspaces; i++) {
    const name = `${workspaceName(i)}-orion-server`
    await c.api.send({ method: "DELETE", path: objectPath({ kind: "Service", metadata: { name, namespace } }) })
    if (i % 2 === 0) await patchWorkflows(c, namespace, workspaceName(i), { controllerReplicas: 2 })
  }
}

/** The Workspaces' own Secrets (credentials), by name: their data. */
const passwords = async (c: BenchCluster, namespace: string): Promise<Record<string, Record<string, string>>> =>
  Object.fromEntries(
    (await list(c, "Secret", namespace))
      .filter((s) => s.metadata.name.endsWith("-environment-secrets"))
      .map((s) => [s.metadata.name, (s as { data?: Record<string, string> }).data ?? {}]),
  )

describe("stale and missed watch events", () => {
  it(`converge ${workspaces} Workspaces through the periodic resync when child events and half the Workspace events are lost`, async () => {
    const c = cluster()
    const namespace = "missed-events"
    await createNamespace(c.api, namespace)
    const resyncPeriodMs = 3_000
    // Only the resync may rescue what the lost events hid: no progressing requeue within the test.
    const progressingRequeueMs = 3_600_000
    const operator = await startOperator(c, {
      identity: namespace,
      namespaces: [namespace],
      resyncPeriodMs,
      progressingRequeueMs,
      faults: { dropEvents: { probability: 1, kinds: managedKindNames } },
    })
    await operator.waitFor(eventOf("synced"), 60_000)
    await createWorkspaces(c.api, namespace, workspaces)
    await waitConverged(c, namespace, 120_000, operator)
    await disturb(c, namespace)
    // Workspace events too now: half of them are lost from here on (a second process, same dice for every run).
    await operator.stop()
    const lossy = await startOperator(c, {
      identity: `${namespace}-lossy`,
      namespaces: [namespace],
      resyncPeriodMs,
      progressingRequeueMs,
      seed: 7,
      faults: { dropEvents: { probability: 0.5 } },
    })
    await lossy.waitFor(eventOf("synced"), 60_000)
    for (let i = 1; i < workspaces; i += 2)
      await patchWorkflows(c, namespace, workspaceName(i), { controllerReplicas: 2 })
    await waitConverged(c, namespace, 20 * resyncPeriodMs, lossy)
    await waitSettled(c, namespace, lossy)
    expect(
      operator.events.filter((e) => e.event === "dropped").length +
        lossy.events.filter((e) => e.event === "dropped").length,
      "no event was dropped: the fault did not fire",
    ).toBeGreaterThan(0)
    await lossy.stop()
    expect(await fixpointWrites(c, namespace)).toEqual([])
  }, 600_000)

  it(`converge ${workspaces} Workspaces when every event reaches the cache late, and never replace a database password`, async () => {
    const c = cluster()
    const namespace = "stale-cache"
    await createNamespace(c.api, namespace)
    const operator = await startOperator(c, {
      identity: namespace,
      namespaces: [namespace],
      resyncPeriodMs: 5_000,
      faults: { delayEvents: { millis: 300 } },
    })
    await operator.waitFor(eventOf("synced"), 60_000)
    await createWorkspaces(c.api, namespace, workspaces)
    // The passwords as first created (4 of the 5 samples have an in-cluster database).
    const early = await pollUntil(
      "the database Secrets exist",
      async () => {
        const found = await passwords(c, namespace)
        return Object.keys(found).length >= Math.floor((workspaces * 4) / 5) ? found : undefined
      },
      { timeoutMs: 60_000 },
    )
    await disturb(c, namespace)
    await waitConverged(c, namespace, 120_000, operator)
    await waitSettled(c, namespace, operator)
    await operator.stop()
    const late = await passwords(c, namespace)
    // Every credential keeps its value; a credential a changed spec newly needs (Redis's) may be added.
    for (const [name, data] of Object.entries(early)) expect(late[name], `${name} was replaced`).toMatchObject(data)
    expect(Object.keys(early).length).toBeGreaterThan(0)
    expect(await fixpointWrites(c, namespace)).toEqual([])
  }, 600_000)
})
