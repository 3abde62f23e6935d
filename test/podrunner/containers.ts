// A container as the pod runner tracks it (its spec, state, restarts, readiness and process), and the timings and
// signals a kubelet would use for it.
import type { V1Container, V1ContainerStatus, V1Pod } from "@kubernetes/client-node"
import type { LocalImage } from "./images.js"
import type { LocalProcess } from "./processes.js"

export type State = NonNullable<V1ContainerStatus["state"]>

export interface ContainerRecord {
  readonly spec: V1Container
  readonly init: boolean
  state: State
  lastState?: State
  restartCount: number
  ready: boolean
  started: boolean
  imageId: string
  process?: LocalProcess
  env?: Record<string, string>
  cwd?: string
  logPath: string
}

/** A container not started yet: waiting, as the kubelet reports one it is setting up. */
export const newContainer = (spec: V1Container, init: boolean, logPath: string): ContainerRecord => ({
  spec,
  init,
  state: { waiting: { reason: init ? "PodInitializing" : "ContainerCreating" } },
  restartCount: 0,
  ready: false,
  started: false,
  imageId: "",
  logPath,
})

export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/u, "Z")
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })

/** The image's STOPSIGNAL: Postgres stops fast on SIGINT (SIGTERM would wait for clients to disconnect). */
export const stopSignal = (image: LocalImage): NodeJS.Signals =>
  image.entrypoint === "postgres" ? "SIGINT" : "SIGTERM"

export const gracePeriod = (pod: V1Pod) =>
  Number(pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30)
