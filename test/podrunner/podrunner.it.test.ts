// The pod runner on the run's real control plane, with small pods of the images it knows (the Prefect venv's
// Python, Debian's shell tools) and of those it does not: what runs, what it reports, what it refuses.
import { spawnSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { pollUntil, sharedControlPlane, useNamespace } from "../harness/index.js"
import { type KubeApi, makeKubeApi, type PodRunner, startNamespaceRunner } from "./index.js"

const image = "prefecthq/prefect:3.9.1-python3.12"

interface Pod {
  readonly metadata: { readonly name: string; readonly uid?: string }
  readonly status?: {
    readonly phase?: string
    readonly podIP?: string
    readonly conditions?: ReadonlyArray<{ readonly type: string; readonly status: string }>
    readonly containerStatuses?: ReadonlyArray<{
      readonly state?: { readonly terminated?: { readonly exitCode: number }; readonly waiting?: { reason?: string } }
    }>
  }
}

// Pods are scheduled only in tier "cluster" (CARTOGRAPHER_TEST_TIER=api has no scheduler).
describe.runIf(inject("cartographerControlPlane")?.tier !== "api")("the local pod runner", () => {
  const namespace = useNamespace("podrunner")
  let api: KubeApi
  let runner: PodRunner
  const pod = (name: string, spec: Record<string, unknown>) =>
    api.post(`/api/v1/namespaces/${namespace}/pods`, { apiVersion: "v1", kind: "Pod", metadata: { name }, spec })
  const read = (name: string) => api.find<Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`)
  const patiently = { timeoutMs: 180_000, intervalMs: 1_000 }
  const eventsOf = async (name: string) =>
    (
      await api.get<{ items: Array<{ reason: string; message: string; involvedObject: { name: string } }> }>(
        `/api/v1/namespaces/${namespace}/events`,
      )
    ).items.filter((e) => e.involvedObject.name === name)

  beforeAll(async () => {
    const { kubeConfig } = sharedControlPlane()
    api = makeKubeApi(kubeConfig)
    runner = await startNamespaceRunner(kubeConfig, api, namespace)
    // Pods are admitted only once kube-controller-manager has made the namespace's `default` ServiceAccount.
    await pollUntil(
      "the default ServiceAccount exists",
      () => api.find(`/api/v1/namespaces/${namespace}/serviceaccounts/default`),
      patiently,
    )
  }, 600_000)

  afterAll(async () => {
    await runner?.stop()
  }, 120_000)

  it("reports an image it does not know as an event, and the pod stays Pending", async () => {
    await pod("unknown-image", { containers: [{ name: "main", image: "busybox:1.36", args: ["true"] }] })
    const event = await pollUntil(
      "an UnsupportedImage event",
      async () => (await eventsOf("unknown-image")).find((e) => e.reason === "UnsupportedImage"),
      patiently,
    )
    expect(event.message).toContain("busybox:1.36")
    const status = (await read("unknown-image"))?.status
    expect(status?.phase).toBe("Pending")
    expect(status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe("ErrImagePull")
  })

  it("reports a volume kind it does not support as an event, and the pod stays Pending", async () => {
    await pod("host-path", {
      containers: [{ name: "main", image, args: ["true"], volumeMounts: [{ name: "host", mountPath: "/host" }] }],
      volumes: [{ name: "host", hostPath: { path: "/etc" } }],
    })
    const event = await pollUntil(
      "a FailedMount event",
      async () => (await eventsOf("host-path")).find((e) => e.reason === "FailedMount"),
      patiently,
    )
    expect(event.message).toContain("hostPath")
    expect((await read("host-path"))?.status?.phase).toBe("Pending")
  })

  it("runs a pod to completion and reports its exit code: Failed with 3, Succeeded with 0", async () => {
    await pod("exits-3", {
      restartPolicy: "Never",
      containers: [{ name: "main", image, command: ["sh", "-c", "exit 3"] }],
    })
    await pod("exits-0", { restartPolicy: "Never", containers: [{ name: "main", image, command: ["true"] }] })
    const failed = await pollUntil(
      "exits-3 is Failed",
      async () => {
        const p = await read("exits-3")
        return p?.status?.phase === "Failed" ? p : undefined
      },
      patiently,
    )
    expect(failed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3)
    const succeeded = await pollUntil(
      "exits-0 is Succeeded",
      async () => {
        const p = await read("exits-0")
        return p?.status?.phase === "Succeeded" ? p : undefined
      },
      patiently,
    )
    expect(succeeded.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0)
  })

  it("resolves secretKeyRef and Service DNS names: a client reaches a server through its Service", async () => {
    await api.post(`/api/v1/namespaces/${namespace}/secrets`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "greeting" },
      stringData: { word: "hello-from-secret" },
    })
    await api.post(`/api/v1/namespaces/${namespace}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 8080, targetPort: "http" }] },
    })
    // The server writes the Secret's value into the page it serves; it listens on "all addresses".
    await api.post(`/api/v1/namespaces/${namespace}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", labels: { app: "web" } },
      spec: {
        containers: [
          {
            name: "web",
            image,
            command: [
              "sh",
              "-c",
              'mkdir -p /srv && echo "$WORD" > /srv/index.html && exec python -m http.server 8000 --bind 0.0.0.0 --directory /srv',
            ],
            env: [{ name: "WORD", valueFrom: { secretKeyRef: { name: "greeting", key: "word" } } }],
            ports: [{ name: "http", containerPort: 8000 }],
            readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
            volumeMounts: [{ name: "srv", mountPath: "/srv" }],
          },
        ],
        volumes: [{ name: "srv", emptyDir: {} }],
      },
    })
    await pollUntil(
      "web is Ready",
      async () => {
        const p = await read("web")
        return p?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? p : undefined
      },
      patiently,
    )
    await pod("client", {
      restartPolicy: "Never",
      containers: [
        {
          name: "client",
          image,
          command: [
            "python",
            "-c",
            `import urllib.request, sys; body = urllib.request.urlopen("http://web.${namespace}.svc.cluster.local:8080/").read().decode(); sys.exit(0 if body.strip() == "hello-from-secret" else 1)`,
          ],
        },
      ],
    })
    const client = await pollUntil(
      "client ends",
      async () => {
        const p = await read("client")
        return p?.status?.phase === "Succeeded" || p?.status?.phase === "Failed" ? p : undefined
      },
      patiently,
    )
    expect(client.status?.phase).toBe("Succeeded")
  })

  it("stops a pod's processes when the pod is deleted, and finishes the deletion", async () => {
    const seconds = `86399.${Date.now() % 1_000_000}`
    await pod("sleeper", { containers: [{ name: "main", image, command: ["sleep", seconds] }] })
    const running = await pollUntil(
      "sleeper is Running",
      async () => {
        const p = await read("sleeper")
        return p?.status?.phase === "Running" ? p : undefined
      },
      patiently,
    )
    const uid = running.metadata.uid ?? ""
    const sleeping = () => spawnSync("pgrep", ["-f", `^sleep ${seconds}$`], { encoding: "utf8" }).stdout.trim()
    expect(sleeping()).not.toBe("")
    await api.delete(`/api/v1/namespaces/${namespace}/pods/sleeper`, { gracePeriodSeconds: 5 })
    await pollUntil(
      "sleeper is gone",
      async () => ((await read("sleeper"))?.metadata.uid === uid ? undefined : true),
      patiently,
    )
    expect(runner.pods().some((p) => p.name === "sleeper")).toBe(false)
    expect(sleeping()).toBe("")
  })
})
