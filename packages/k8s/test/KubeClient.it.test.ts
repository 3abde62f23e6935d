// KubeClient against the run's real kube-apiserver: server-side apply semantics, the status subresource, paging,
// deletes, one connection per request, and its layers. The error reasons it produces are in K8sError.it.test.ts.
import { readdir, readFile, readlink } from "node:fs/promises"
import { eventually, sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Stream } from "effect"
import { type K8sError, Kinds, KubeClient, type KubeConfigError, type KubeObject } from "../src/index.js"
import { adminRequests, ensureWidgetCrd, sharedClientSuite, type Widget, Widgets, withClient } from "./support.js"

const namespace = useNamespace("k8s-client")

const widget = (name: string, spec: NonNullable<Widget["spec"]>): Widget => ({
  apiVersion: "k8s.test.cartographer.dev/v1",
  kind: "Widget",
  metadata: { name, namespace },
  spec,
})

interface ManagedFieldsEntry {
  readonly manager?: string
  readonly operation?: string
  readonly subresource?: string
  readonly fieldsV1?: { readonly "f:spec"?: Record<string, unknown> }
}
const managedFields = (object: KubeObject): ReadonlyArray<ManagedFieldsEntry> =>
  (object.metadata?.managedFields ?? []) as ReadonlyArray<ManagedFieldsEntry>
const ownsSpecField = (object: KubeObject, manager: string, field: string) =>
  managedFields(object).some(
    (entry) => entry.manager === manager && entry.fieldsV1?.["f:spec"]?.[`f:${field}`] !== undefined,
  )

const failure = <A>(effect: Effect.Effect<A, K8sError, KubeClient>) => Effect.flip(effect)

/** Inodes of this process's established TCP connections to `port` on loopback (from /proc). */
const socketsTo = async (port: number): Promise<ReadonlySet<string>> => {
  const fds = await readdir("/proc/self/fd")
  const own = new Set<string>()
  for (const fd of fds) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "")
    const inode = /^socket:\[(\d+)\]$/u.exec(target)?.[1]
    if (inode !== undefined) own.add(inode)
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0")
  const found = new Set<string>()
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    const lines = (await readFile(table, "utf8").catch(() => "")).split("\n").slice(1)
    for (const line of lines) {
      const fields = line.trim().split(/\s+/u)
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode; state 01 = ESTABLISHED
      const [, , remote, state, , , , , , inode] = fields
      if (remote?.endsWith(`:${hexPort}`) && state === "01" && inode !== undefined && own.has(inode)) found.add(inode)
    }
  }
  return found
}

sharedClientSuite("KubeClient on a real API server", "120 seconds", (test) => {
  test("creates an object by server-side apply, owned by its field manager", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    const created = yield* client.apply(Widgets, widget("created", { size: 1, color: "red" }))
    assert.deepStrictEqual(created.spec, { size: 1, color: "red" })
    assert.strictEqual(created.metadata.generation, 1)
    assert.isTrue(managedFields(created).some((e) => e.manager === "cartographer" && e.operation === "Apply"))
    const read = yield* client.get(Widgets, { namespace, name: "created" })
    assert.strictEqual(read.metadata.uid, created.metadata.uid)
    assert.strictEqual(read.kind, "Widget")
  })

  test("updates by apply, and an identical apply is a no-op that keeps the resourceVersion", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    const first = yield* client.apply(Widgets, widget("updated", { size: 1 }))
    const second = yield* client.apply(Widgets, widget("updated", { size: 2 }))
    assert.notStrictEqual(second.metadata.resourceVersion, first.metadata.resourceVersion)
    assert.strictEqual(second.metadata.generation, 2)
    const third = yield* client.apply(Widgets, widget("updated", { size: 2 }))
    assert.strictEqual(third.metadata.resourceVersion, second.metadata.resourceVersion)
    assert.strictEqual(third.metadata.generation, 2)
  })

  test("refuses another manager's unforced apply with a field-manager conflict, and forces ours back", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    yield* client.apply(Widgets, widget("contested", { size: 1, color: "red" }))

    const refused = yield* failure(
      client.apply(Widgets, widget("contested", { color: "blue" }), { fieldManager: "someone-else", force: false }),
    )
    assert.strictEqual(refused.reason._tag, "Conflict")
    assert.isTrue(refused.reason._tag === "Conflict" && refused.reason.isFieldManagerConflict)
    assert.isTrue(refused.reason._tag === "Conflict" && refused.reason.causes.some((c) => c.field === ".spec.color"))
    assert.isFalse(refused.isRetryable)

    const taken = yield* client.apply(Widgets, widget("contested", { color: "blue" }), {
      fieldManager: "someone-else",
      force: true,
    })
    assert.strictEqual(taken.spec?.color, "blue")
    assert.isTrue(ownsSpecField(taken, "someone-else", "color"))
    assert.isFalse(ownsSpecField(taken, "cartographer", "color"))

    const restored = yield* client.apply(Widgets, widget("contested", { size: 1, color: "red" }))
    assert.strictEqual(restored.spec?.color, "red")
    assert.isTrue(ownsSpecField(restored, "cartographer", "color"))
    assert.isFalse(ownsSpecField(restored, "someone-else", "color"))
  })

  test("writes status only through the /status subresource", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    const created = yield* client.apply(Widgets, widget("with-status", { size: 3 }))
    const withStatus = yield* client.applyStatus(
      Widgets,
      {
        apiVersion: Widgets.apiVersion,
        kind: "Widget",
        metadata: { name: "with-status", namespace },
        status: { observed: 1, phase: "Ready" },
      },
      { fieldManager: "cartographer-status" },
    )
    assert.deepStrictEqual(withStatus.status, { observed: 1, phase: "Ready" })
    assert.strictEqual(
      withStatus.metadata.generation,
      created.metadata.generation,
      "status writes do not bump generation",
    )
    assert.isTrue(
      managedFields(withStatus).some((e) => e.manager === "cartographer-status" && e.subresource === "status"),
    )

    // Status sent to the main resource is ignored by the server.
    yield* client.apply(Widgets, { ...widget("with-status", { size: 3 }), status: { phase: "Hijacked" } })
    const read = yield* client.get(Widgets, { namespace, name: "with-status" })
    assert.strictEqual(read.status?.phase, "Ready")
  })

  test("dry-run applies and deletes are validated by the server but change nothing", function* () {
    yield* ensureWidgetCrd
    const client = yield* KubeClient
    const live = yield* client.apply(Widgets, widget("dry", { size: 1 }))
    const preview = yield* client.apply(Widgets, widget("dry", { size: 9 }), { dryRun: true })
    assert.strictEqual(preview.spec?.size, 9)
    const invalid = yield* failure(client.apply(Widgets, widget("dry", { size: -1 }), { dryRun: true }))
    assert.strictEqual(invalid.reason._tag, "Invalid")
    // Custom resources answer a delete with a Status (built-in kinds return the object).
    yield* client.delete(Widgets, { namespace, name: "dry" }, { dryRun: true })
    const after = yield* client.get(Widgets, { namespace, name: "dry" })
    assert.strictEqual(after.spec?.size, 1)
    assert.strictEqual(after.metadata.resourceVersion, live.metadata.resourceVersion)
  })

  test("a dry-run apply of an object that does not exist answers it as the server would create it", function* (client) {
    const service = {
      metadata: { name: "dry-new", namespace },
      spec: { selector: { app: "dry" }, ports: [{ port: 80 }] },
    }
    const preview = yield* client.apply(Kinds.Service, service, { dryRun: true })
    // Nothing was persisted, so there is no resourceVersion; what the server defaults is there.
    assert.strictEqual(preview.metadata.resourceVersion, "")
    assert.strictEqual((preview.spec as { sessionAffinity?: string }).sessionAffinity, "None")
    const missing = yield* failure(client.get(Kinds.Service, { namespace, name: "dry-new" }))
    assert.strictEqual(missing.reason._tag, "NotFound")
  })

  test("lists more than 500 objects in pages that follow the continue token", function* (client) {
    const count = 520
    const names = Array.from({ length: count }, (_, i) => `page-${String(i).padStart(4, "0")}`)
    yield* Effect.forEach(
      names,
      (name) =>
        client.apply(Kinds.ConfigMap, {
          metadata: { name, namespace, labels: { paging: "yes" } },
          data: { n: name },
        }),
      { concurrency: 16, discard: true },
    )
    const since = new Date(Date.now() - 1000)
    const all = yield* client.list(Kinds.ConfigMap, { namespace, labelSelector: "paging=yes" })
    assert.strictEqual(all.items.length, count)
    assert.deepStrictEqual(all.items.map((item) => item.metadata.name).sort(), names)
    assert.isTrue(all.items.every((item) => item.kind === "ConfigMap" && item.apiVersion === "v1"))
    const small = yield* client.list(Kinds.ConfigMap, { namespace, labelSelector: "paging=yes", pageSize: 100 })
    assert.strictEqual(new Set(small.items.map((item) => item.metadata.uid)).size, count)

    const lists = yield* adminRequests({ verbs: ["list"], resource: "configmaps", namespace, since })
    const uris = lists.map((event) => event.requestURI)
    assert.strictEqual(uris.filter((uri) => uri.includes("limit=500")).length, 2, uris.join("\n"))
    assert.strictEqual(uris.filter((uri) => uri.includes("limit=100")).length, 6, uris.join("\n"))
    assert.strictEqual(uris.filter((uri) => uri.includes("continue=")).length, 1 + 5)
  })

  test("deletes only when uid and resourceVersion preconditions hold", function* (client) {
    const live = yield* client.apply(Kinds.ConfigMap, { metadata: { name: "doomed", namespace }, data: { a: "1" } })
    const ref = { namespace, name: "doomed" }
    const wrongUid = yield* failure(
      client.delete(Kinds.ConfigMap, ref, { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } }),
    )
    assert.strictEqual(wrongUid.reason._tag, "Conflict")
    yield* client.apply(Kinds.ConfigMap, { metadata: { name: "doomed", namespace }, data: { a: "2" } })
    const staleVersion = yield* failure(
      client.delete(Kinds.ConfigMap, ref, { preconditions: { resourceVersion: live.metadata.resourceVersion } }),
    )
    assert.strictEqual(staleVersion.reason._tag, "Conflict")
    yield* client.delete(Kinds.ConfigMap, ref, {
      preconditions: { uid: live.metadata.uid },
      propagationPolicy: "Background",
    })
    const gone = yield* failure(client.get(Kinds.ConfigMap, ref))
    assert.strictEqual(gone.reason._tag, "NotFound")
  })

  test("reports a foreground deletion's finalizer: the propagation policy reaches the server", function* (client) {
    yield* client.apply(Kinds.ConfigMap, { metadata: { name: "foreground", namespace } })
    const pending = yield* client.delete(
      Kinds.ConfigMap,
      { namespace, name: "foreground" },
      { propagationPolicy: "Foreground", dryRun: true },
    )
    assert.isTrue(Option.isSome(pending))
    if (Option.isSome(pending)) {
      assert.include(pending.value.metadata.finalizers ?? [], "foregroundDeletion")
      assert.isDefined(pending.value.metadata.deletionTimestamp)
    }
  })

  test("reads Pods (read-only kind) and refuses to write objects without a namespace client-side", function* (client) {
    const pods = yield* client.list(Kinds.Pod, { namespace })
    assert.deepStrictEqual(pods.items, [])
    const missing = yield* failure(client.apply(Kinds.ConfigMap, { metadata: { name: "nowhere" } }))
    assert.strictEqual(missing.reason._tag, "Invalid")
    assert.isUndefined(missing.reason.status, "rejected before any request")
  })

  test("speaks HTTP/1.1: concurrent watches hold a connection each, not streams of one HTTP/2 session", function* () {
    const { apiServerUrl, kubeConfig } = sharedControlPlane()
    const port = Number(new URL(apiServerUrl).port)
    const before = yield* Effect.promise(() => socketsTo(port))
    yield* withClient(
      kubeConfig,
      Effect.gen(function* () {
        const client = yield* KubeClient
        for (let i = 0; i < 4; i++) {
          yield* client
            .watchOnce(Kinds.ConfigMap, { namespace, timeoutSeconds: 60 })
            .pipe(Stream.runDrain, Effect.ignore, Effect.forkScoped)
        }
        const opened = yield* eventually(
          Effect.promise(() => socketsTo(port)).pipe(
            Effect.map((now) => [...now].filter((inode) => !before.has(inode)).length),
            Effect.filterOrFail(
              (count) => count >= 4,
              (count) => `${count} new connections`,
            ),
          ),
          "20 seconds",
        )
        assert.isAtLeast(opened, 4)
      }).pipe(Effect.scoped),
    )
  })
})

layer(Layer.empty, { excludeTestServices: true })("KubeClient layers", (it) => {
  it.effect("loads an explicit kubeconfig file", () =>
    Effect.gen(function* () {
      const namespaces = yield* KubeClient.use((c) => c.list(Kinds.Namespace)).pipe(
        Effect.provide(KubeClient.layerFromFile(sharedControlPlane().kubeconfigPath)),
      )
      assert.isTrue(namespaces.items.some((ns) => ns.metadata.name === namespace))
    }),
  )

  it.effect("loads the file named by KUBECONFIG", () =>
    Effect.gen(function* () {
      const provider = ConfigProvider.fromEnv({ env: { KUBECONFIG: sharedControlPlane().kubeconfigPath } })
      const found = yield* KubeClient.use((c) => c.get(Kinds.Namespace, { name: namespace })).pipe(
        Effect.provide(KubeClient.layerConfig().pipe(Layer.provide(ConfigProvider.layer(provider)))),
      )
      assert.strictEqual(found.metadata.name, namespace)
    }),
  )

  it.effect("fails with KubeConfigError outside a cluster and for a missing file", () =>
    Effect.gen(function* () {
      const provider = ConfigProvider.fromEnv({ env: {} })
      const inCluster = yield* Effect.flip(
        KubeClient.use((c) => c.list(Kinds.Namespace)).pipe(
          Effect.provide(KubeClient.layerInCluster().pipe(Layer.provide(ConfigProvider.layer(provider)))),
        ),
      )
      assert.strictEqual((inCluster as KubeConfigError)._tag, "KubeConfigError")
      const missing = yield* Effect.flip(
        KubeClient.use((c) => c.list(Kinds.Namespace)).pipe(
          Effect.provide(KubeClient.layerFromFile("/nonexistent/kubeconfig")),
        ),
      )
      assert.strictEqual(missing._tag, "KubeConfigError")
    }),
  )
})
