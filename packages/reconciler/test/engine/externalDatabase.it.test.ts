// A Workspace on an external database whose Secret the user has not created yet, or created without the key: the
// engine says which Secret and key in Degraded, starts no migration (its pod could never start), and picks the fix
// up from its watch of that Secret, at once, with no edit of the Workspace (tier cluster: kwok runs the pods).
import { Kinds, type KubeObject } from "@cartographer/k8s"
import { eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { condition, engineSuite, podsRun } from "./support.js"

const suite = engineSuite("engine-external-db")
const { namespace } = suite
const name = "external-db"

/** The user's Secret, as `kubectl create secret generic prefect-db --from-literal=<key>=…` makes it. */
const userSecret = (data: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "prefect-db", namespace },
  type: "Opaque",
  stringData: data,
})

const url = "postgresql+asyncpg://prefect:pw@team-postgres.elsewhere.svc:5432/prefect"

suite.tests("the external database's Secret", "240 seconds", (test) => {
  test.skipIf(!podsRun())(
    "is reported missing, then without its key, and once fixed the Workspace migrates and becomes Ready unedited",
    function* (admin) {
      // The engine's periodic looks are pushed far out: only its watch of the Secret can notice the fix.
      yield* suite.startEngine({ rejectedRecheck: "1 hour", resyncPeriod: "10 hours" })
      const created = yield* suite.apply(suite.sample("external-database-workspace.yaml"))
      const missing = yield* suite.waitForCondition(name, "Degraded", "True")
      assert.deepInclude(condition(missing, "Degraded"), { reason: "DatabaseSecretMissing" })
      assert.include(
        condition(missing, "Degraded")?.message,
        `Secret prefect-db does not exist in namespace ${namespace}`,
      )
      assert.include(condition(missing, "Degraded")?.message, "create it with key connection-url")
      assert.deepInclude(condition(missing, "Ready"), { status: "False", reason: "DatabaseSecretMissing" })
      const noJobs = yield* admin.list(Kinds.Job, { namespace })
      assert.deepStrictEqual(
        noJobs.items.map((j) => j.metadata.name),
        [],
        "no migration Job while it cannot start",
      )
      // Quiet: the pool's worker is ready and the status says so; no child changes any more, so from here on only
      // the Secret's changes can bring a reconcile.
      yield* eventually(
        Effect.gen(function* () {
          const ws = yield* admin.get(Kinds.Workspace, { namespace, name })
          const pools = (ws.status as { pools?: ReadonlyArray<{ readyReplicas: number }> } | undefined)?.pools
          return pools?.[0]?.readyReplicas === 1 ? ws : yield* Effect.fail("the pool's worker is not ready yet")
        }),
        "60 seconds",
      )

      yield* admin.apply(Kinds.Secret, userSecret({ url }), { fieldManager: "user" })
      const noKey = yield* eventually(
        Effect.gen(function* () {
          const ws = yield* admin.get(Kinds.Workspace, { namespace, name })
          const message = condition(ws, "Degraded")?.message ?? ""
          return message.includes("has no key") ? message : yield* Effect.fail(message)
        }),
        "30 seconds",
      )
      assert.strictEqual(
        noKey,
        "spec.workflows.database.external.secretRef.key: Secret prefect-db has no key connection-url with a value (its keys: url)",
      )

      const fixed = Date.now()
      yield* admin.apply(Kinds.Secret, userSecret({ "connection-url": url }), { fieldManager: "user" })
      const job = yield* eventually(
        admin.list(Kinds.Job, { namespace }).pipe(Effect.flatMap((l) => Effect.fromNullishOr(l.items[0]))),
        "20 seconds",
      )
      const reactedMs = Date.now() - fixed
      assert.match(job.metadata.name, /^external-db-orion-migrate-[0-9a-f]{8}$/u)
      const ready = yield* suite.waitForCondition(name, "Ready", "True", "150 seconds")
      assert.deepInclude(condition(ready, "Degraded"), { status: "False" })
      // Nobody touched the Workspace: same generation as created.
      assert.strictEqual(ready.metadata.generation, created.metadata.generation)
      process.stderr.write(`[engine-external-db] migration Job created ${reactedMs} ms after the Secret was fixed\n`)
    },
  )
})
