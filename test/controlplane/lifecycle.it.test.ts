// A control plane of its own, for what would disturb the suites running beside this one on the shared control
// plane: kube-apiserver restarts, etcd compaction, and stopping it all.
import { existsSync } from "node:fs"
import { CoreV1Api, type KubeConfig, Watch } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ControlPlane, startControlPlane } from "../harness/index.js"

/** Watches `path` from `resourceVersion` for a few seconds: the event types seen, or the HTTP/Status code of a failure. */
const watchFrom = (kubeConfig: KubeConfig, path: string, resourceVersion: string) =>
  new Promise<{ code: number | undefined; types: string[] }>((resolve, reject) => {
    const types: string[] = []
    let controller: AbortController | undefined
    let finished = false
    const finish = (code: number | undefined) => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      controller?.abort()
      resolve({ code, types })
    }
    const timer = setTimeout(() => finish(undefined), 3_000)
    new Watch(kubeConfig)
      .watch(
        path,
        { resourceVersion },
        (type, object: { code?: number }) => {
          types.push(type)
          if (type === "ERROR") finish(object.code)
        },
        (error: { statusCode?: number } | null) => finish(error?.statusCode),
      )
      .then((c) => {
        controller = c
        if (finished) c.abort()
      }, reject)
  })

// Chaos on the shared control plane would disturb the suites running beside this one: these get their own.
describe("a control plane of its own (restart, compaction, stop)", () => {
  let own: ControlPlane

  beforeAll(async () => {
    own = await startControlPlane({ tier: "api" })
  })
  afterAll(async () => {
    await own?.stop()
  })

  it("restartApiServer() restarts kube-apiserver on the same URL, and objects survive", async () => {
    const ownCore = own.kubeConfig.makeApiClient(CoreV1Api)
    const before = await ownCore.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "survivor" }, data: { a: "1" } },
    })
    const pidOf = async () => (await own.processStats()).find((p) => p.name === "kube-apiserver")?.pid
    const pidBefore = await pidOf()
    await own.restartApiServer()
    expect(await pidOf()).not.toBe(pidBefore)
    const after = await ownCore.readNamespacedConfigMap({ namespace: "default", name: "survivor" })
    expect(after.metadata?.uid).toBe(before.metadata?.uid)
    expect(after.data).toEqual({ a: "1" })
  })

  it("compactEtcd() makes a watch from an old resourceVersion fail with 410 Gone", async () => {
    // Events are one of the kinds kube-apiserver serves without its watch cache (by default), so their watches
    // read etcd's history directly: exactly what a compaction removes.
    const ownCore = own.kubeConfig.makeApiClient(CoreV1Api)
    const event = (n: number) => ({
      metadata: { name: `churn-${n}` },
      involvedObject: { kind: "ConfigMap", namespace: "default", name: "churn", apiVersion: "v1" },
      reason: "Churn",
      message: `event ${n}`,
      type: "Normal",
    })
    const first = await ownCore.createNamespacedEvent({ namespace: "default", body: event(0) })
    const oldVersion = first.metadata?.resourceVersion ?? ""
    for (let n = 1; n <= 5; n++) await ownCore.createNamespacedEvent({ namespace: "default", body: event(n) })
    const path = "/api/v1/namespaces/default/events"
    const beforeCompaction = await watchFrom(own.kubeConfig, path, oldVersion)
    expect(beforeCompaction.code).toBeUndefined()
    expect(beforeCompaction.types.filter((t) => t === "ADDED").length).toBeGreaterThanOrEqual(5)
    const revision = await own.compactEtcd()
    expect(revision).toBeGreaterThan(Number(oldVersion))
    expect((await watchFrom(own.kubeConfig, path, oldVersion)).code).toBe(410)
    // From the current revision all is well.
    expect((await watchFrom(own.kubeConfig, path, String(revision))).code).toBeUndefined()
  })

  it("kinds behind the watch cache give 410 for compacted versions once kube-apiserver restarts", async () => {
    // The watch cache keeps serving recent history after a compaction; a fresh cache (after a restart) starts
    // at the current revision. That is how an operator's informer meets 410 Gone in real clusters.
    const ownCore = own.kubeConfig.makeApiClient(CoreV1Api)
    const created = await ownCore.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "churn" }, data: { n: "0" } },
    })
    const oldVersion = created.metadata?.resourceVersion ?? ""
    for (let n = 1; n <= 3; n++) {
      await ownCore.replaceNamespacedConfigMap({
        namespace: "default",
        name: "churn",
        body: { metadata: { name: "churn" }, data: { n: String(n) } },
      })
    }
    const path = "/api/v1/namespaces/default/configmaps"
    await own.compactEtcd()
    const cached = await watchFrom(own.kubeConfig, path, oldVersion)
    expect(cached.code).toBeUndefined()
    expect(cached.types).toContain("MODIFIED")
    await own.restartApiServer()
    expect((await watchFrom(own.kubeConfig, path, oldVersion)).code).toBe(410)
  })

  it("stop() ends its processes by PID and removes its temp dir", async () => {
    const pids = (await own.processStats()).map((p) => p.pid)
    expect(pids.length).toBe(2)
    await own.stop()
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `pid ${pid}`).toBe(false)
    // CARTOGRAPHER_TEST_KEEP_TMP keeps it on purpose, for reading the component logs.
    if (!process.env.CARTOGRAPHER_TEST_KEEP_TMP) expect(existsSync(own.workDir)).toBe(false)
  })
})
