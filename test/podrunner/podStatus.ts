// A pod's status as a kubelet reports it: phase, the conditions it owns (keeping their transition times), addresses
// once the sandbox is up, and each container's state.
import type { V1PodCondition } from "@kubernetes/client-node"
import { type ContainerRecord, now } from "./containers.js"

export interface PodFacts {
  readonly phase: "Pending" | "Running" | "Succeeded" | "Failed"
  readonly containers: ReadonlyArray<ContainerRecord>
  /** Its volumes are set up: the pod has an address. */
  readonly sandboxReady: boolean
  /** Its init containers completed. */
  readonly initialized: boolean
  readonly terminal: boolean
  readonly hostIp: string
  readonly podIp: string
  readonly startTime: string
}

export const podStatus = (pod: PodFacts, previous: ReadonlyArray<V1PodCondition> = []): Record<string, unknown> => {
  const mains = pod.containers.filter((c) => !c.init)
  const inits = pod.containers.filter((c) => c.init)
  const phase = pod.phase
  const containersReady = mains.every((c) => c.ready)
  const condition = (type: string, status: boolean, reason?: string): V1PodCondition => {
    const before = previous.find((p) => p.type === type)
    const value = status ? "True" : "False"
    return {
      type,
      status: value,
      ...(reason && !status ? { reason } : {}),
      lastProbeTime: null as unknown as Date,
      lastTransitionTime: (before?.status === value ? before.lastTransitionTime : now()) as Date,
    }
  }
  const terminalReason = phase === "Succeeded" || phase === "Failed" ? "PodCompleted" : undefined
  const mine = new Set(["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"])
  const conditions = [
    ...previous.filter((p) => !mine.has(p.type)),
    condition("PodReadyToStartContainers", pod.sandboxReady && !pod.terminal),
    condition("Initialized", pod.initialized, terminalReason ?? "ContainersNotInitialized"),
    condition("ContainersReady", containersReady && !pod.terminal, terminalReason ?? "ContainersNotReady"),
    condition("Ready", containersReady && !pod.terminal, terminalReason ?? "ContainersNotReady"),
  ]
  const containerStatus = (c: ContainerRecord) => ({
    name: c.spec.name,
    image: c.spec.image,
    imageID: c.imageId,
    ...(c.process ? { containerID: `local://${c.process.pid}` } : {}),
    ready: c.ready,
    started: c.init ? undefined : c.started && Boolean(c.state.running),
    restartCount: c.restartCount,
    state: c.state,
    lastState: c.lastState ?? {},
  })
  return {
    phase,
    conditions,
    hostIP: pod.hostIp,
    hostIPs: [{ ip: pod.hostIp }],
    // Like a kubelet, an address only once the pod's "sandbox" (its volumes) is set up.
    ...(pod.sandboxReady ? { podIP: pod.podIp, podIPs: [{ ip: pod.podIp }] } : {}),
    startTime: pod.startTime,
    ...(inits.length > 0 ? { initContainerStatuses: inits.map(containerStatus) } : {}),
    containerStatuses: mains.map(containerStatus),
  }
}
