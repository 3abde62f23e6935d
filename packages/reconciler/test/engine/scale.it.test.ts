// Fifty Workspaces created at once all converge: every planned child exists and, where pods run, every Workspace
// is Ready. Figures (time, reconciles, writes) are printed, never asserted.

import { Kinds } from "@cartographer/k8s"
import { eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { condition, engineSuite, podsRun } from "./support.js"

const suite = engineSuite("engine-scale")
const { namespace } = suite

const count = 50
const names = Array.from({ length: count }, (_, i) => `scale-${String(i).padStart(2, "0")}`)

suite.tests("many Workspaces", "600 seconds", (test) => {
  test(`converges ${count} Workspaces created at once`, function* (admin) {
    const results = new Map<string, number>()
    yield* suite.startEngine({
      observer: {
        reconciled: ({ result }) => results.set(result, (results.get(result) ?? 0) + 1),
        queue: () => {},
      },
    })
    const started = Date.now()
    const since = new Date()
    yield* Effect.forEach(
      names,
      (name) =>
        Effect.gen(function* () {
          if (podsRun()) yield* suite.provideVolume(name)
          yield* suite.apply(suite.sample("basic-workspace.yaml", name))
        }),
      { concurrency: 8, discard: true },
    )
    const wanted = podsRun() ? "Ready" : "Progressing"
    const converged = yield* eventually(
      Effect.gen(function* () {
        const list = yield* admin.list(Kinds.Workspace, { namespace })
        const done = list.items.filter((w) => {
          const status = w.status as { observedGeneration?: number } | undefined
          if (status?.observedGeneration !== w.metadata.generation) return false
          return podsRun()
            ? condition(w, "Ready")?.status === "True"
            : condition(w, "Progressing")?.reason === "MigrationRunning"
        })
        if (done.length < count) return yield* Effect.fail(`${done.length}/${count} ${wanted}`)
        return list.items
      }),
      "480 seconds",
    )
    const seconds = (Date.now() - started) / 1000
    assert.strictEqual(converged.length, count)
    for (const kind of [Kinds.Deployment, Kinds.StatefulSet, Kinds.Service, Kinds.Secret, Kinds.Job]) {
      const list = yield* admin.list(kind, {
        namespace,
        labelSelector: "app.kubernetes.io/managed-by=cartographer",
      })
      assert.isAtLeast(list.items.length, count, kind.kind)
    }
    const writes = yield* suite.writesSince(since)
    process.stderr.write(
      `[engine-scale] ${count} Workspaces ${wanted} in ${seconds.toFixed(1)} s; reconciles ${JSON.stringify(
        Object.fromEntries(results),
      )}; operator writes ${writes.length} (${(writes.length / count).toFixed(1)} per Workspace)\n`,
    )
  })
})
