// The API server restarts while the engine is converging Workspaces: every reconcile that fails meanwhile is
// retried, every watch reconnects, and everything converges afterwards — the engine never exits. This runs on a
// PRIVATE control plane (tier api: no pods, so "converged" means every planned child exists and the status is
// current): restarting the shared one would disturb every other suite.
import { Kinds, KubeClient, type KubeObject } from "@cartographer/k8s"
import { effectSuite, eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Faults, type FaultsShape } from "../../src/engine/Faults.js"
import { Engine } from "../../src/index.js"
import { basicChildren, condition, PrivateCluster, privateCluster, sample } from "./support.js"

const namespace = "restart"
const environment = privateCluster(namespace)

const names = Array.from({ length: 6 }, (_, i) => `restart-${i}`)

/** Fails until the Workspace's children exist and its status reflects its generation. */
const converged = (name: string) =>
  Effect.gen(function* () {
    const admin = yield* KubeClient
    const ws = yield* admin.get(Kinds.Workspace, { namespace, name })
    const status = ws.status as { observedGeneration?: number } | undefined
    if (status?.observedGeneration !== ws.metadata.generation) return yield* Effect.fail(`${name}: status not current`)
    // Without pods the database never becomes ready: the engine must have said so, and created everything.
    if (condition(ws, "Ready")?.reason !== "DatabaseNotReady") return yield* Effect.fail(`${name}: not planned yet`)
    for (const [kind, child] of basicChildren(name)) yield* admin.get(kind, { namespace, name: child })
  })

effectSuite(KubeClient, environment)("API server restarts", "300 seconds", (test) => {
  test("converges every Workspace after an API server restart in the middle of convergence", function* () {
    const { controlPlane, identity } = yield* PrivateCluster
    const admin = yield* KubeClient
    let writes = 0
    let restarted: Promise<void> | undefined
    // A test hook, not a mock: after the 8th write, restart the real API server (without waiting for it).
    const faults: FaultsShape = {
      afterWrite: () =>
        Effect.sync(() => {
          writes++
          if (writes === 8) restarted = controlPlane.restartApiServer()
        }),
      beforeEvent: () => Effect.succeed(true),
    }
    const engine = yield* Engine.make({ concurrency: 2, namespaces: [namespace] }).pipe(
      Effect.provide(identity.layer),
      Effect.provideService(Faults, faults),
      Effect.orDie,
    )
    const running = yield* Effect.forkScoped(engine.run)
    yield* engine.synced
    yield* Effect.forEach(names.slice(0, 4), (name) =>
      admin.apply(Kinds.Workspace, sample("basic-workspace.yaml", namespace, name) as KubeObject, {
        fieldManager: "engine-test",
      }),
    )
    yield* eventually(Effect.suspend(() => (restarted === undefined ? Effect.fail("no restart yet") : Effect.void)))
    yield* Effect.promise(() => restarted ?? Promise.resolve())
    // Created after the restart: proves the watches came back, not just the retries.
    for (const name of names.slice(4)) {
      yield* eventually(
        admin.apply(Kinds.Workspace, sample("basic-workspace.yaml", namespace, name) as KubeObject, {
          fieldManager: "engine-test",
        }),
      )
    }
    for (const name of names) yield* eventually(converged(name), "120 seconds")
    assert.isUndefined(running.pollUnsafe(), "the engine is still running")
    assert.isTrue(yield* engine.isSynced)
    yield* Fiber.interrupt(running)
  })
})
