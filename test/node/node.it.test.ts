// Proof that the real node runs pods as a cluster does: each test fails if the thing it names is not enforced
// (kubelet, containerd and runc, the CNI bridge, kube-proxy, CoreDNS, kube-router, the volume provisioner).

import { type AddressInfo, createServer } from "node:net"
import { expect, it } from "vitest"
import { stringify } from "yaml"
import {
  describeOnRealNode,
  kubectl,
  pollUntil,
  realNode,
  startControlPlane,
  useNamespace,
  useRealNode,
} from "../harness/index.js"
import { runKubectl } from "../harness/kubectl.js"
import { testImages, toolboxReference as toolboxImage } from "./images.js"
import { run as exec } from "./sandbox.js"

const minutes = (n: number) => n * 60_000

/** The restricted Pod Security profile's container settings, as the planner writes them. */
const restricted = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
}

const apply = async (namespace: string, ...objects: ReadonlyArray<Record<string, unknown>>) => {
  const applied = await kubectl(["apply", "-n", namespace, "-f", "-"], {
    input: objects.map((o) => stringify(o)).join("---\n"),
  })
  if (applied.code !== 0) throw new Error(applied.stderr)
}

const jsonpath = async (namespace: string, what: string, path: string) => {
  const got = await kubectl(["get", "-n", namespace, what, "-o", `jsonpath=${path}`])
  return got.code === 0 ? got.stdout : undefined
}

/** Waits for a pod's phase (Succeeded, Failed, Running) and returns it; its log is in the error otherwise. */
const podPhase = (namespace: string, pod: string, phases: ReadonlyArray<string>, timeoutMs = minutes(2)) =>
  pollUntil(
    `pod ${namespace}/${pod} in ${phases.join(" or ")}`,
    async () => {
      const phase = await jsonpath(namespace, `pod/${pod}`, "{.status.phase}")
      return phase !== undefined && phases.includes(phase) ? phase : undefined
    },
    {
      timeoutMs,
      intervalMs: 500,
      describe: () => `(kubectl describe pod -n ${namespace} ${pod})`,
    },
  )

const logs = async (namespace: string, pod: string) => {
  const got = await kubectl(["logs", "-n", namespace, pod])
  if (got.code !== 0) throw new Error(`kubectl logs ${pod}: ${got.stderr}`)
  return got.stdout
}

const pod = (
  name: string,
  script: string,
  extra: { labels?: Record<string, string>; spec?: Record<string, unknown>; container?: Record<string, unknown> } = {},
) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { app: name, ...extra.labels } },
  spec: {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    securityContext: { runAsUser: 1001, runAsGroup: 1001, seccompProfile: { type: "RuntimeDefault" } },
    ...extra.spec,
    containers: [
      {
        name: "main",
        image: toolboxImage,
        imagePullPolicy: "IfNotPresent",
        command: ["sh", "-c", script],
        securityContext: restricted,
        ...extra.container,
      },
    ],
  },
})

/** A web server (busybox httpd) answering `body` on port 8080, Ready once it listens. */
const webServer = (name: string, body: string, labels: Record<string, string>, ready = true) =>
  pod(name, `mkdir -p /tmp/www && echo ${body} > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`, {
    labels,
    spec: { restartPolicy: "Always" },
    container: {
      ports: [{ name: "http", containerPort: 8080 }],
      readinessProbe: ready
        ? { httpGet: { path: "/index.html", port: 8080 }, periodSeconds: 1 }
        : { exec: { command: ["false"] }, periodSeconds: 1 },
    },
  })

// busybox 1.35's wget crashes with -T: the timeout applet bounds it instead.
const fetchFrom = (url: string) => `timeout 5 wget -q -O - ${url} 2>/dev/null`

describeOnRealNode("the real node", () => {
  const namespace = useNamespace("real-node")
  useRealNode(namespace)

  it("runs a container as its securityContext's user on a read-only root filesystem", async () => {
    await apply(
      namespace,
      // /tmp is world-writable in the image: only the read-only root filesystem keeps user 1001 from writing it.
      pod(
        "readonly",
        "id -u; id -g; if touch /tmp/x 2>/dev/null; then echo root-writable; fi; touch /scratch/y && echo volume-writable",
        {
          container: {
            securityContext: { ...restricted, readOnlyRootFilesystem: true },
            volumeMounts: [{ name: "scratch", mountPath: "/scratch" }],
          },
          spec: {
            securityContext: {
              runAsUser: 1001,
              runAsGroup: 1001,
              fsGroup: 1001,
              seccompProfile: { type: "RuntimeDefault" },
            },
            volumes: [{ name: "scratch", emptyDir: {} }],
          },
        },
      ),
    )
    expect(await podPhase(namespace, "readonly", ["Succeeded", "Failed"])).toBe("Succeeded")
    expect((await logs(namespace, "readonly")).trim().split("\n")).toEqual(["1001", "1001", "volume-writable"])
  })

  it("resolves a Service's name from a pod and routes it to a Ready pod only", async () => {
    await apply(
      namespace,
      webServer("web-ready", "from-ready", { tier: "web" }),
      webServer("web-unready", "from-unready", { tier: "web" }, false),
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: { selector: { tier: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      },
    )
    await podPhase(namespace, "web-unready", ["Running"])
    await pollUntil(
      "web-ready Ready",
      async () =>
        (await jsonpath(namespace, "pod/web-ready", "{.status.containerStatuses[0].ready}")) === "true"
          ? true
          : undefined,
      { timeoutMs: minutes(1) },
    )
    const url = `http://web.${namespace}.svc.cluster.local/index.html`
    await apply(namespace, pod("client", `for i in 1 2 3 4 5 6 7 8; do ${fetchFrom(url)} || echo failed; done`))
    expect(await podPhase(namespace, "client", ["Succeeded", "Failed"])).toBe("Succeeded")
    expect((await logs(namespace, "client")).trim().split("\n")).toEqual(Array(8).fill("from-ready"))
  })

  it("enforces a NetworkPolicy: denies a pod it does not allow and admits one it does", async () => {
    await apply(namespace, webServer("guarded", "guarded", { tier: "guarded" }), {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "guarded" },
      spec: {
        podSelector: { matchLabels: { tier: "guarded" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: { access: "allowed" } } }], ports: [{ port: 8080 }] }],
      },
    })
    await pollUntil(
      "guarded has an IP",
      async () => (await jsonpath(namespace, "pod/guarded", "{.status.podIP}")) || undefined,
      { timeoutMs: minutes(1) },
    )
    const ip = (await jsonpath(namespace, "pod/guarded", "{.status.podIP}")) ?? ""
    const target = `http://${ip}:8080/index.html`
    // The allowed client retries while kube-router learns of its new pod; only then does the other one try, three
    // times: every attempt must be refused.
    await apply(
      namespace,
      pod("allowed", `for i in $(seq 20); do ${fetchFrom(target)} && exit 0; sleep 1; done; echo denied`, {
        labels: { access: "allowed" },
      }),
    )
    await podPhase(namespace, "allowed", ["Succeeded", "Failed"])
    expect((await logs(namespace, "allowed")).trim()).toBe("guarded")
    await apply(namespace, pod("denied", `for i in 1 2 3; do ${fetchFrom(target)} || echo denied; sleep 1; done`))
    await podPhase(namespace, "denied", ["Succeeded", "Failed"])
    expect((await logs(namespace, "denied")).trim().split("\n")).toEqual(["denied", "denied", "denied"])
  })

  it("provisions a PersistentVolumeClaim that a non-root pod can write through fsGroup, and only through it", async () => {
    const claim = (name: string) => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    })
    const writer = (name: string, fsGroup: number | undefined) =>
      pod(name, "stat -c %g /data; touch /data/file 2>/dev/null && echo written || echo refused", {
        spec: {
          securityContext: {
            runAsUser: 1234,
            runAsGroup: 1234,
            ...(fsGroup === undefined ? {} : { fsGroup }),
            seccompProfile: { type: "RuntimeDefault" },
          },
          volumes: [{ name: "data", persistentVolumeClaim: { claimName: name } }],
        },
        container: { volumeMounts: [{ name: "data", mountPath: "/data" }] },
      })
    await apply(
      namespace,
      claim("with-fsgroup"),
      claim("without-fsgroup"),
      writer("with-fsgroup", 2345),
      writer("without-fsgroup", undefined),
    )
    await Promise.all(["with-fsgroup", "without-fsgroup"].map((p) => podPhase(namespace, p, ["Succeeded", "Failed"])))
    expect((await logs(namespace, "with-fsgroup")).trim().split("\n")).toEqual(["2345", "written"])
    expect((await logs(namespace, "without-fsgroup")).trim().split("\n")).toEqual(["0", "refused"])
    expect(await jsonpath(namespace, "pvc/with-fsgroup", "{.spec.storageClassName}")).toBe("cartographer-local")
  })

  it("restarts a container whose liveness probe fails", async () => {
    await apply(
      namespace,
      pod("unhealthy", "touch /tmp/alive; sleep 3; rm /tmp/alive; sleep 600", {
        spec: { restartPolicy: "Always" },
        container: {
          livenessProbe: { exec: { command: ["test", "-f", "/tmp/alive"] }, periodSeconds: 1, failureThreshold: 2 },
        },
      }),
    )
    await pollUntil(
      "unhealthy restarted by kubelet",
      async () => {
        const restarts = Number(
          await jsonpath(namespace, "pod/unhealthy", "{.status.containerStatuses[0].restartCount}"),
        )
        return restarts >= 1 ? restarts : undefined
      },
      { timeoutMs: minutes(2), intervalMs: 1_000 },
    )
  })

  it("runs a Job's pod to completion", async () => {
    await apply(namespace, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "once" },
      spec: { backoffLimit: 0, template: { spec: pod("once", "echo done").spec } },
    })
    const waited = await kubectl(["wait", "-n", namespace, "--for=condition=Complete", "job/once", "--timeout=120s"], {
      timeoutMs: minutes(3),
    })
    expect(waited.code, waited.stderr).toBe(0)
  })

  it("enforces restricted Pod Security on a namespace labelled for it", async () => {
    const labelled = await kubectl([
      "label",
      "--overwrite",
      "namespace",
      namespace,
      "pod-security.kubernetes.io/enforce=restricted",
    ])
    expect(labelled.code, labelled.stderr).toBe(0)
    try {
      const rootPod = pod("as-root", "id -u", {
        spec: { securityContext: { runAsUser: 0 } },
        container: { securityContext: {} },
      })
      const refused = await kubectl(["apply", "-n", namespace, "-f", "-"], { input: stringify(rootPod) })
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toContain('violates PodSecurity "restricted:latest"')
      await apply(namespace, pod("compliant", "id -u"))
      expect(await podPhase(namespace, "compliant", ["Succeeded", "Failed"])).toBe("Succeeded")
    } finally {
      await kubectl(["label", "namespace", namespace, "pod-security.kubernetes.io/enforce-"])
    }
  })

  it("puts a container's memory limit in its cgroup", async () => {
    await apply(
      namespace,
      pod("limited", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max", {
        container: {
          resources: { limits: { memory: "64Mi", cpu: "100m" }, requests: { memory: "64Mi", cpu: "100m" } },
        },
      }),
    )
    expect(await podPhase(namespace, "limited", ["Succeeded", "Failed"])).toBe("Succeeded")
    expect((await logs(namespace, "limited")).trim()).toBe(String(64 * 2 ** 20))
  })

  it("keeps pods from opening connections to the host: only replies to what the host opened pass", async () => {
    // A listener of the test's own on the host's end of the node's link, the one host address the node routes to.
    const server = createServer((socket) => socket.end("host\n"))
    await new Promise<void>((resolve) => server.listen(0, realNode().hostIp, resolve))
    const port = (server.address() as AddressInfo).port
    try {
      // From the host, the node's side answers (the API server reaches kubelet this way, tests reach pods).
      const kubeletUp = await fetch(`https://${realNode().nodeIp}:10250/healthz`).catch((e: Error) => e.cause)
      expect(String(kubeletUp)).not.toMatch(/ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH/u)
      await apply(
        namespace,
        pod("to-host", `(timeout 5 nc ${realNode().hostIp} ${port} </dev/null) 2>/dev/null || echo unreachable`),
      )
      await podPhase(namespace, "to-host", ["Succeeded", "Failed"])
      // (busybox sh also reports the timed-out job as "Terminated")
      const lines = (await logs(namespace, "to-host")).trim().split("\n")
      expect(lines).toContain("unreachable")
      expect(lines).not.toContain("host")
    } finally {
      server.close()
    }
  })

  it("runs on the node of this run, which is Ready", async () => {
    const ready = await kubectl([
      "get",
      "node",
      realNode().name,
      "-o",
      "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
    ])
    expect(ready.stdout).toBe("True")
  })
})

describeOnRealNode("a real node's teardown", () => {
  it(
    "leaves no process, cgroup, namespace, link, route, mount or firewall rule behind",
    async () => {
      const hostRules = async () => ({
        iptables: (await exec("iptables-save", [])).replace(/^#.*$/gmu, "").replace(/\[\d+:\d+\]/gu, ""),
        nft: await exec("nft", ["list", "ruleset"]),
        routes: await exec("ip", ["-4", "route"]),
      })
      const before = await hostRules()
      // A second node on the same machine, next to the run's: its own addresses, cgroups and namespaces.
      const own = await startControlPlane({ tier: "node", nodes: 0, images: await testImages() })
      const node = own.realNode
      if (node === undefined) throw new Error("tier node started without a real node")
      try {
        const ns = "teardown"
        const run = (args: ReadonlyArray<string>, input?: string) =>
          runKubectl(own.kubectlPath, own.kubeconfigPath, args, input === undefined ? {} : { input })
        expect((await run(["create", "namespace", ns])).code).toBe(0)
        const sleeper = pod("sleeper", "sleep 600", {
          spec: { restartPolicy: "Always", nodeName: node.name, tolerations: [{ operator: "Exists" }] },
        })
        // The namespace's `default` ServiceAccount comes from kube-controller-manager, moments after the namespace.
        await pollUntil(
          "the sleeper pod is admitted",
          async () => ((await run(["apply", "-n", ns, "-f", "-"], stringify(sleeper))).code === 0 ? true : undefined),
          { timeoutMs: minutes(1), intervalMs: 500 },
        )
        await pollUntil(
          "the second node's pod Running",
          async () => {
            const phase = await run(["get", "-n", ns, "pod/sleeper", "-o", "jsonpath={.status.phase}"])
            return phase.stdout === "Running" ? true : undefined
          },
          { timeoutMs: minutes(2), intervalMs: 500 },
        )
        expect(await node.leftovers()).not.toEqual([])
      } finally {
        await own.stop()
      }
      expect(await node.leftovers()).toEqual([])
      expect(await hostRules()).toEqual(before)
    },
    minutes(6),
  )
})
