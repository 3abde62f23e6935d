/**
 * Why a Workspace's pods do not run, for the status (`plan/podProblems.ts`): read only while one of its workloads is
 * not ready, so a converged Workspace costs no request. One list of the Workspace's pods, and, when a pod is stuck
 * creating its containers, one list of the namespace's `FailedMount` Events (kubelet says only there that a Secret of
 * a volume does not exist). Best effort: a failed read leaves the status without the diagnosis.
 */
import { Kinds, type KubeClientShape, type KubeObject, type Live } from "@cartographer/k8s"
import { Effect } from "effect"
import { labelKeys, managedBy } from "../plan/labels.js"
import type { PodProblem } from "../plan/Observed.js"

type Json = Record<string, unknown>
const record = (value: unknown): Json | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined
const list = (value: unknown): ReadonlyArray<Json> =>
  (Array.isArray(value) ? value : []).map(record).filter((v): v is Json => v !== undefined)
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

/** Container waiting reasons that do not go away by waiting. */
const failingWaits = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrImageNeverPull",
  "InvalidImageName",
])
/** Waiting reasons of a pod whose volumes are not mounted yet. */
const creatingWaits = new Set(["ContainerCreating", "PodInitializing"])

/** Messages are quoted, not copied whole: a scheduler's message lists every node. */
const clip = (text: string): string => (text.length <= 400 ? text : `${text.slice(0, 399)}…`)

/** Whether a workload (Deployment, StatefulSet) of the Workspace has fewer ready pods than it asks for. */
const notReady = (object: Live<KubeObject>): boolean => {
  const wanted = record(object.spec)?.replicas
  const ready = record(object.status)?.readyReplicas
  return (typeof wanted === "number" ? wanted : 1) > (typeof ready === "number" ? ready : 0)
}

export const needsDiagnosis = (workloads: ReadonlyArray<Live<KubeObject>>): boolean => workloads.some(notReady)

/** The Deployments' `ReplicaFailure` conditions: pods the API server refused to create. */
const refusedCreations = (deployments: ReadonlyArray<Live<KubeObject>>): ReadonlyArray<PodProblem> =>
  deployments.flatMap((deployment) => {
    const failure = list(record(deployment.status)?.conditions).find(
      (c) => c.type === "ReplicaFailure" && c.status === "True",
    )
    const labels = deployment.metadata.labels ?? {}
    const component = labels[labelKeys.component]
    if (failure === undefined || component === undefined) return []
    const pool = labels[labelKeys.pool]
    return [
      {
        component,
        ...(pool === undefined ? {} : { pool }),
        reason: str(failure.reason) ?? "FailedCreate",
        message: clip(str(failure.message) ?? ""),
      },
    ]
  })

/** Pods that no node fits, or whose containers cannot be created; and the pods still creating them (by name). */
const podFailures = (pods: ReadonlyArray<Live<KubeObject>>) => {
  const problems: Array<PodProblem> = []
  const creating = new Map<string, Pick<PodProblem, "component" | "pool">>()
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp !== undefined) continue
    const labels = pod.metadata.labels ?? {}
    const component = labels[labelKeys.component]
    if (component === undefined) continue
    const pool = labels[labelKeys.pool]
    const who = { component, ...(pool === undefined ? {} : { pool }) }
    const status = record(pod.status)
    const scheduled = list(status?.conditions).find((c) => c.type === "PodScheduled")
    if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
      problems.push({ ...who, reason: "Unschedulable", message: clip(str(scheduled.message) ?? "") })
      continue
    }
    const waits = [...list(status?.initContainerStatuses), ...list(status?.containerStatuses)].map((s) =>
      record(record(s.state)?.waiting),
    )
    const failing = waits.find((w) => failingWaits.has(str(w?.reason) ?? ""))
    if (failing !== undefined) {
      problems.push({ ...who, reason: str(failing.reason) ?? "", message: clip(str(failing.message) ?? "") })
      continue
    }
    if (waits.some((w) => creatingWaits.has(str(w?.reason) ?? ""))) creating.set(pod.metadata.name, who)
  }
  return { problems, creating }
}

const byKey = (a: PodProblem, b: PodProblem): number => {
  const key = (p: PodProblem) => `${p.component}\u0000${p.pool ?? ""}\u0000${p.reason}\u0000${p.message}`
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
}

/** One problem per component and reason (the first by message, so that the status does not depend on list order). */
export const podProblemsOf = (input: {
  readonly deployments: ReadonlyArray<Live<KubeObject>>
  readonly pods: ReadonlyArray<Live<KubeObject>>
  readonly mountEvents: ReadonlyArray<Live<KubeObject>>
}): ReadonlyArray<PodProblem> => {
  const { problems, creating } = podFailures(input.pods)
  for (const event of input.mountEvents) {
    const who = creating.get(str(record(event.involvedObject)?.name) ?? "")
    if (who !== undefined) problems.push({ ...who, reason: "FailedMount", message: clip(str(event.message) ?? "") })
  }
  const seen = new Set<string>()
  return [...refusedCreations(input.deployments), ...problems].sort(byKey).filter((p) => {
    const key = `${p.component}\u0000${p.pool ?? ""}\u0000${p.reason}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** The Workspace's pods, and the namespace's FailedMount Events when a pod is stuck creating its containers. */
export const readPods = (
  client: KubeClientShape,
  namespace: string,
  workspace: string,
): Effect.Effect<{
  readonly pods: ReadonlyArray<Live<KubeObject>>
  readonly mountEvents: ReadonlyArray<Live<KubeObject>>
}> =>
  Effect.gen(function* () {
    const pods = yield* client.list(Kinds.Pod, {
      namespace,
      labelSelector: `${labelKeys.environment}=${workspace},${labelKeys.managedBy}=${managedBy}`,
    })
    const stuck = podFailures(pods.items).creating.size > 0
    const events = stuck
      ? yield* client.list(Kinds.PodEvent, { namespace, fieldSelector: "involvedObject.kind=Pod,reason=FailedMount" })
      : { items: [] }
    return { pods: pods.items, mountEvents: events.items }
  }).pipe(Effect.catch(() => Effect.succeed({ pods: [], mountEvents: [] })))
