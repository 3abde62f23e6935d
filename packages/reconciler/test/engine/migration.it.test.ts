// An image change backs the database up, then migrates it: the backup Job completes before the migration Job is
// created, the new migration Job is created while the server keeps its image, and the server rolls to the new image
// only after that Job completed. Order is read from the API server's audit
// log and the Job's own completion time (tier cluster: kwok runs the Job's pod to completion).

import { Kinds, type KubeObject } from "@cartographer/k8s"
import { eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { migrationHashAnnotation } from "../../src/plan/migration.js"
import { engineSuite, podsRun, withWorkflows } from "./support.js"

const suite = engineSuite("engine-migration")
const { namespace } = suite

const name = "migrating"
const oldImage = "prefecthq/prefect:3.9.1-python3.12"
const newImage = "prefecthq/prefect:3.9.2-python3.12"

const withImage = (image: string): KubeObject => withWorkflows(suite.sample("basic-workspace.yaml", name), { image })

const serverImage = (deployment: KubeObject) =>
  (deployment.spec as { template: { spec: { containers: ReadonlyArray<{ image: string }> } } }).template.spec
    .containers[0]?.image

suite.tests("migrations", "300 seconds", (test) => {
  test.skipIf(!podsRun())(
    "on an image change backs up, then migrates, and rolls the server only after the migration succeeded",
    function* (admin) {
      yield* suite.provideVolume(name)
      yield* suite.startEngine()
      yield* suite.apply(withImage(oldImage))
      yield* suite.waitForCondition(name, "Ready", "True", "180 seconds")
      const server = { namespace, name: `${name}-orion-server` }
      const before = yield* admin.get(Kinds.Deployment, server)
      const oldHash = before.metadata.annotations?.[migrationHashAnnotation]
      assert.strictEqual(serverImage(before), oldImage)

      const since = new Date()
      yield* suite.apply(withImage(newImage))
      const after = yield* eventually(
        admin.get(Kinds.Deployment, server).pipe(Effect.filterOrFail((d) => serverImage(d) === newImage)),
        "180 seconds",
      )
      const newHash = after.metadata.annotations?.[migrationHashAnnotation]
      assert.notStrictEqual(newHash, oldHash)
      const job = yield* admin.get(Kinds.Job, { namespace, name: `${name}-orion-migrate-${newHash}` })
      const jobStatus = job.status as { completionTime?: string; conditions?: ReadonlyArray<{ type: string }> }
      assert.isTrue(jobStatus.conditions?.some((c) => c.type === "Complete"))

      // The server is held on its old image until then: its first write after the change comes after the Job's
      // creation and after the Job completed.
      const writes = yield* suite.writesSince(since)
      const jobCreated = writes.findIndex(
        (e) => e.objectRef?.resource === "jobs" && e.objectRef.name === job.metadata.name,
      )
      const serverWrites = writes.filter(
        (e) => e.objectRef?.resource === "deployments" && e.objectRef.name === server.name,
      )
      assert.isAtLeast(jobCreated, 0, "the operator created the new Job")
      // The backup of the same hash was created before the migration Job (and pruned once the migration was done).
      const backupCreated = writes.findIndex(
        (e) =>
          e.verb !== "delete" &&
          e.objectRef?.resource === "jobs" &&
          e.objectRef.name === `${name}-orion-backup-${newHash}`,
      )
      assert.isAtLeast(backupCreated, 0, "the operator created the backup Job")
      assert.isBelow(backupCreated, jobCreated, "the backup Job is created before the migration Job")
      assert.isAbove(serverWrites.length, 0)
      const firstServerWrite = writes.indexOf(serverWrites[0] as (typeof writes)[number])
      assert.isAbove(firstServerWrite, jobCreated, "the server is written only after the Job was created")
      const completed = Date.parse(jobStatus.completionTime ?? "")
      // completionTime has second precision.
      assert.isAtLeast(Date.parse(serverWrites[0]?.requestReceivedTimestamp ?? "") + 1000, completed)
      yield* suite.waitForCondition(name, "Ready", "True", "120 seconds")
    },
  )
})
