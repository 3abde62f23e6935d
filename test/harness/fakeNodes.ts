// Nodes without kubelets: kwok (default stages) keeps them Ready and plays kubelet for the pods bound to them,
// so pods become Running and Ready with an IP. Roomy enough that scheduling never fails for lack of capacity.
import { CoreV1Api, type KubeConfig, type V1Node } from "@kubernetes/client-node"
import { pollUntil } from "./network.js"

export const fakeNodeAnnotation = "kwok.x-k8s.io/node"

const resources = { cpu: "64", memory: "256Gi", pods: "250", "ephemeral-storage": "1Ti" }

const fakeNode = (name: string): V1Node => ({
  metadata: {
    name,
    annotations: { [fakeNodeAnnotation]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
    labels: {
      "kubernetes.io/hostname": name,
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "kubernetes.io/role": "agent",
      type: "kwok",
    },
  },
  // Nodes, unlike most kinds, keep the status given at creation (kubelets register that way).
  status: { allocatable: resources, capacity: resources },
})

/** Creates `count` fake nodes and waits until kwok reports each of them Ready. */
export const createFakeNodes = async (
  kubeConfig: KubeConfig,
  count: number,
  timeoutMs: number,
  describe: () => string,
) => {
  const core = kubeConfig.makeApiClient(CoreV1Api)
  const names = Array.from({ length: count }, (_, i) => `kwok-node-${i}`)
  await Promise.all(names.map((name) => core.createNode({ body: fakeNode(name) })))
  await pollUntil(
    `kwok marks nodes ${names.join(", ")} Ready`,
    async () => {
      const nodes = await core.listNode({ labelSelector: "type=kwok" })
      const ready = nodes.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      )
      return ready.length >= count ? true : undefined
    },
    { timeoutMs, intervalMs: 500, describe },
  )
  return names
}
