// The headline property: a converged Workspace costs zero writes. Over three resyncs of converged Workspaces the API
// server's own audit log records no mutating request from the operator's ServiceAccount — counted by the server,
// not by the engine's counters.
import { Kinds } from "@cartographer/k8s"
import { auditedRequests, eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { condition, engineSuite, podsRun, withWorkflows } from "./support.js"

const suite = engineSuite("engine-steady")
const { namespace } = suite

const count = 5
const names = Array.from({ length: count }, (_, i) => `steady-${i}`)

suite.tests("steady state", "300 seconds", (test) => {
  test("makes zero mutating requests over three resyncs of converged Workspaces (API server audit log)", function* (_admin) {
    const reconciles: Array<{ readonly key: string; readonly at: number; readonly result: string }> = []
    yield* suite.startEngine({
      resyncPeriod: "3 seconds",
      observer: {
        reconciled: ({ key, result }) => reconciles.push({ key, at: Date.now(), result }),
        queue: () => {},
      },
    })
    for (const name of names) {
      if (podsRun()) yield* suite.provideVolume(name)
      // One with scheduled backups: its CronJob, too, is left alone at rest.
      yield* suite.apply(suite.sample(name === names[0] ? "backup-workspace.yaml" : "basic-workspace.yaml", name))
    }
    // Converged: Ready where pods run; otherwise every status current and nothing progressing that can progress.
    for (const name of names) {
      if (podsRun()) yield* suite.waitForCondition(name, "Ready", "True", "240 seconds")
      else yield* suite.waitForCondition(name, "Degraded", "False")
    }
    // Quiet: Events about the transitions are written by a rate-limited background writer; wait until the
    // operator has written nothing for 5 seconds.
    yield* eventually(
      Effect.gen(function* () {
        const recent = yield* suite.writesSince(new Date(Date.now() - 5_000))
        if (recent.length > 0) return yield* Effect.fail(`${recent.length} recent writes`)
      }),
      "120 seconds",
    )

    const since = new Date()
    const from = Date.now()
    // Three resyncs: every Workspace reconciled at least three more times.
    yield* eventually(
      Effect.suspend(() => {
        const after = reconciles.filter((r) => r.at >= from)
        const fewest = Math.min(...names.map((n) => after.filter((r) => r.key === `${namespace}/${n}`).length))
        return fewest >= 3 ? Effect.void : Effect.fail(`only ${fewest} reconciles of some Workspace`)
      }),
      "60 seconds",
    )
    const writes = yield* suite.writesSince(since)
    const during = reconciles.filter((r) => r.at >= from)
    assert.isAtLeast(during.length, 3 * count)
    assert.deepStrictEqual(
      during.filter((r) => r.result !== "success").map((r) => `${r.key} ${r.result}`),
      [],
      "every reconcile of a converged Workspace succeeds",
    )
    assert.deepStrictEqual(
      writes.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ""} ${e.objectRef?.name}`),
      [],
    )
    // The audit log does see this operator: it read (listed and watched) during the same period.
    const reads = yield* Effect.promise(() => auditedRequests({ user: suite.identity().user, mutating: false }))
    assert.isAbove(reads.length, 0)
  })

  test("leaves a Workspace whose pods cannot start alone until something changes, however short the progressing requeue", function* (admin) {
    const name = "unschedulable"
    const key = `${namespace}/${name}`
    const reconciles: Array<{ readonly at: number; readonly result: string }> = []
    yield* suite.startEngine({
      progressingRequeue: "1 second",
      resyncPeriod: "1 hour",
      observer: {
        reconciled: (r) => {
          if (r.key === key) reconciles.push({ at: Date.now(), result: r.result })
        },
        queue: () => {},
      },
    })
    // No node has this label: the pods stay Pending on every tier, and the Workspace stays Progressing.
    yield* suite.apply(
      withWorkflows(suite.sample("basic-workspace.yaml", name), {
        nodeSelector: { "cartographer.test/no-such-node": "true" },
      }),
    )
    yield* suite.waitForCondition(name, "Progressing", "True")
    // Settled: the requeue after the last write has run and written nothing, and the children are quiet.
    yield* eventually(
      Effect.gen(function* () {
        const recent = yield* suite.writesSince(new Date(Date.now() - 4_000))
        if (recent.length > 0) return yield* Effect.fail(`${recent.length} recent writes`)
        const last = reconciles.at(-1)
        if (last === undefined || Date.now() - last.at < 4_000) return yield* Effect.fail("reconciled recently")
      }),
      "120 seconds",
    )
    const before = reconciles.length
    // Several progressing-requeue periods with nothing changing.
    yield* Effect.sleep("5 seconds")
    const still = yield* admin.get(Kinds.Workspace, { namespace, name })
    assert.strictEqual(condition(still, "Progressing")?.status, "True", "still waiting for its pods")
    // Pods no node fits may be reported (PodsFailing), and nothing else is wrong.
    const degraded = condition(still, "Degraded")
    if (degraded?.status === "True") assert.strictEqual(degraded.reason, "PodsFailing")
    assert.deepStrictEqual(reconciles.slice(before), [], "no reconcile while nothing changed")
  })
})
