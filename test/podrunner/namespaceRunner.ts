// A pod runner of its own for one namespace (a suite's): that namespace's pods go to the runner's node and tolerate
// its taint, every other namespace's pods stay on kwok's nodes (PodNodeSelector and PodTolerationRestriction
// admission, enabled by the harness).
import type { KubeConfig } from "@kubernetes/client-node"
import type { KubeApi } from "../harness/kubeApi.js"
import { runnerTaint } from "./LocalNode.js"
import { type PodRunner, startPodRunner } from "./PodRunner.js"

export const startNamespaceRunner = async (
  kubeConfig: KubeConfig,
  api: KubeApi,
  namespace: string,
): Promise<PodRunner> => {
  const nodeName = `cartographer-local-${namespace}`.slice(0, 63)
  await api.mergePatch(`/api/v1/namespaces/${namespace}`, {
    metadata: {
      annotations: {
        "scheduler.alpha.kubernetes.io/node-selector": `kubernetes.io/hostname=${nodeName}`,
        "scheduler.alpha.kubernetes.io/defaultTolerations": JSON.stringify([
          { key: runnerTaint.key, operator: "Equal", value: runnerTaint.value, effect: runnerTaint.effect },
        ]),
      },
    },
  })
  return startPodRunner({ kubeConfig, nodeName, exclusive: true, namespaces: (ns) => ns === namespace })
}
