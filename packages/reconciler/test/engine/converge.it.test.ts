// The engine takes a Workspace to everything its plan holds, running as the operator's ServiceAccount with the
// shipped ClusterRole only (a missing verb fails here), on the run's real control plane.

import { Kinds, type KubeObject } from "@cartographer/k8s"
import { validateWorkspace } from "@cartographer/schema"
import { eventually } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { managedKinds } from "../../src/engine/ManagedKinds.js"
import { convergedPlan, type ManagedObject } from "../../src/index.js"
import { condition, engineSuite, podsRun } from "./support.js"

const suite = engineSuite("engine-converge")
const { namespace } = suite

/** What the operator converges to for this Workspace (no uid offline, so without owner references). */
const expectedObjects = (workspace: KubeObject): ReadonlyArray<ManagedObject> => {
  const decoded = validateWorkspace(workspace, { unknownFields: "ignore" })
  if (!decoded.ok) throw new Error(decoded.issues.map((i) => i.message).join())
  return convergedPlan(decoded.value, {
    now: "2025-01-01T00:00:00Z",
    generatedPassword: "x",
    generatedSecrets: { apiAuthPassword: "y", redisPassword: "z" },
  }).apply
}

const decodeBase64 = (value: string) => Buffer.from(value, "base64").toString("utf8")

suite.tests("the engine converges", "240 seconds", (test) => {
  test("creates every planned object for samples/basic-workspace.yaml and, once the pods are Ready, reports Ready=True", function* (admin) {
    const workspace = suite.sample("basic-workspace.yaml")
    const name = workspace.metadata?.name ?? ""
    yield* suite.provideVolume(name)
    yield* suite.startEngine()
    const created = yield* suite.apply(workspace)

    const expected = expectedObjects(workspace)
    const children = yield* eventually(
      Effect.forEach(expected, (object) =>
        admin.get(managedKinds[object.kind], { namespace, name: object.metadata.name }),
      ),
      "90 seconds",
    )
    for (const child of children) {
      const owners = child.metadata.ownerReferences ?? []
      if (child.kind === "Secret" || child.kind === "PersistentVolumeClaim") {
        assert.deepStrictEqual(owners, [], `${child.kind} ${child.metadata.name} is retained (no owner)`)
      } else {
        assert.deepStrictEqual(
          owners.map((o) => [o.kind, o.name, o.uid, o.controller]),
          [["Workspace", name, created.metadata.uid, true]],
          `${child.kind} ${child.metadata.name} is controlled by its Workspace`,
        )
      }
    }

    const secret = children.find((c) => c.kind === "Secret")
    const data = (secret?.data ?? {}) as Record<string, string>
    const password = decodeBase64(data.password ?? "")
    assert.match(password, /^[A-Za-z0-9_-]{32}$/u, "a generated 24-byte password")
    assert.include(decodeBase64(data["connection-url"] ?? ""), encodeURIComponent(password))

    if (!podsRun()) return
    const ready = yield* suite.waitForCondition(name, "Ready", "True", "180 seconds")
    assert.strictEqual(condition(ready, "Ready")?.reason, "AllComponentsReady")
    assert.strictEqual(condition(ready, "Degraded")?.status, "False")
    assert.strictEqual(condition(ready, "Progressing")?.status, "False")
    const status = ready.status as { serverUrl?: string; observedGeneration?: number }
    assert.strictEqual(status.serverUrl, `http://${name}-orion-server.${namespace}.svc:4200/api`)
    assert.strictEqual(status.observedGeneration, created.metadata.generation)
    // The transition is recorded as an Event (events.k8s.io, written under the operator's RBAC).
    const events = yield* eventually(
      admin.list(Kinds.Event, { namespace }).pipe(
        Effect.map((list) =>
          list.items.filter((e) => e.regarding?.uid === created.metadata.uid && e.reason === "AllComponentsReady"),
        ),
        Effect.filterOrFail(
          (found) => found.length > 0,
          () => "no Ready event yet",
        ),
      ),
      "30 seconds",
    )
    assert.strictEqual(events[0]?.type, "Normal")
    assert.strictEqual(events[0]?.reportingController, "mlops.aigency.com/cartographer")
  })

  test("grants a kubernetes pool its Role and RoleBinding without escalate or bind (the operator holds them)", function* (admin) {
    const workspace = suite.sample("kubernetes-pool-workspace.yaml")
    const name = workspace.metadata?.name ?? ""
    yield* suite.startEngine()
    yield* suite.apply(workspace)
    const role = yield* eventually(admin.get(Kinds.Role, { namespace, name: `${name}-agent-jobs` }))
    const binding = yield* eventually(admin.get(Kinds.RoleBinding, { namespace, name: `${name}-agent-jobs` }))
    yield* eventually(admin.get(Kinds.ServiceAccount, { namespace, name: `${name}-agent-jobs` }))
    assert.deepInclude(role.rules as ReadonlyArray<unknown>, {
      apiGroups: ["batch"],
      resources: ["jobs"],
      verbs: ["get", "list", "watch", "create", "delete"],
    })
    assert.deepStrictEqual((binding.roleRef as { name: string }).name, `${name}-agent-jobs`)
    const latest = yield* eventually(
      admin.get(Kinds.Workspace, { namespace, name }).pipe(
        Effect.filterOrFail(
          (w) => condition(w, "Degraded") !== undefined,
          () => "no status yet",
        ),
      ),
    )
    assert.strictEqual(condition(latest, "Degraded")?.status, "False", condition(latest, "Degraded")?.message)
  })
})
