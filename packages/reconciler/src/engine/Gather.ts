/**
 * Gathering: what the engine knows about one Workspace's children, read from the caches merged with the engine's
 * own writes the caches may not show yet (`OwnWrites`), and the facts of the Secrets it reads (`ReferencedSecrets`).
 * Reads nothing from the API server but, once per failed migration Job and per finished backup Job, its pod's
 * termination message (the cache does not hold pods; a backup's names its file), and, while a workload is not ready,
 * its pods to say why (`PodDiagnosis.ts`).
 */
import { Kinds, type KubeClientShape, type KubeObject, type Live, objectKey } from "@cartographer/k8s"
import type { Workspace } from "@cartographer/schema"
import { Effect } from "effect"
import { contextOf } from "../plan/context.js"
import type { ManagedKind } from "../plan/kube.js"
import { labelKeys } from "../plan/labels.js"
import {
  backupCronJobName,
  databaseName,
  databaseVolumeName,
  redisName,
  secretName,
  serverName,
  servicesName,
} from "../plan/names.js"
import type { SecretObservation } from "../plan/Observed.js"
import { referencedSecrets } from "../plan/references.js"
import type { Cache } from "./Cache.js"
import { type Children, controllerUidOf, jobStateOf, lastTerminationMessage } from "./Observe.js"
import type { OwnWrites } from "./OwnWrites.js"
import { needsDiagnosis, readPods } from "./PodDiagnosis.js"
import { observeSecret } from "./ReferencedSecrets.js"

export type ChildCaches = { readonly [K in ManagedKind]: Cache<KubeObject> }

/** The freshest view of the children: the caches, or the engine's own writes where those are newer. */
export interface View {
  /** One object, or `undefined` when it does not exist (or the engine deleted it). */
  readonly get: (
    kind: ManagedKind,
    ref: { readonly namespace: string; readonly name: string },
  ) => Live<KubeObject> | undefined
  /** A kind's objects of one Workspace (by owner index and labels, see `Observe.workspaceKeyOf`). */
  readonly owned: (kind: ManagedKind, workspaceKey: string) => ReadonlyArray<Live<KubeObject>>
}

export const makeView = (children: ChildCaches, ownWrites: OwnWrites): View => ({
  get: (kind, ref) => ownWrites.view(kind, objectKey(ref), children[kind].get(ref)),
  owned: (kind, workspaceKey) => {
    const byKey = new Map<string, Live<KubeObject>>()
    for (const object of children[kind].ownedBy(workspaceKey)) byKey.set(objectKey(object.metadata), object)
    for (const object of ownWrites.writtenFor(kind, workspaceKey)) byKey.set(objectKey(object.metadata), object)
    const out: Array<Live<KubeObject>> = []
    for (const [key, cached] of byKey) {
      const fresh = ownWrites.view(kind, key, children[kind].get(cached.metadata) ?? cached)
      if (fresh !== undefined) out.push(fresh)
    }
    return out
  },
})

/**
 * Whether the database volume was created before the Workspace: a retained volume of an earlier Workspace of the same
 * name, whose data the first migration must back up. Both times are RFC 3339 in UTC with seconds, as the API server
 * writes them, so they compare as strings.
 */
const olderThan = (volume: Live<KubeObject> | undefined, workspaceCreated: string | undefined): boolean =>
  volume?.metadata.creationTimestamp !== undefined &&
  workspaceCreated !== undefined &&
  volume.metadata.creationTimestamp < workspaceCreated

/** Termination messages remembered at most, by Job uid: a bound on the memory of Jobs that failed long ago. */
const maxCachedJobMessages = 1000

/**
 * `gather(workspace, key, uid)`: the children the planner is told about. An object controlled by another owner
 * (a Workspace deleted and re-created while the garbage collector still works) is not this Workspace's.
 */
export const makeGather = (
  client: KubeClientShape,
  view: View,
  secretFacts: Cache<KubeObject>,
  watches: (namespace: string) => boolean,
) => {
  /** Finished Jobs' pod termination messages, by Job uid (read once per Job; "" when there was none). */
  const jobMessages = new Map<string, string>()

  /** The termination message of a finished Job's pod, read once per Job (best effort). */
  const terminationMessage = (job: Live<KubeObject>): Effect.Effect<string | undefined> => {
    const cached = jobMessages.get(job.metadata.uid)
    if (cached !== undefined) return Effect.succeed(cached === "" ? undefined : cached)
    return client
      .list(Kinds.Pod, { namespace: job.metadata.namespace, labelSelector: `job-name=${job.metadata.name}` })
      .pipe(
        Effect.map((pods) => {
          const message = lastTerminationMessage(pods.items) ?? ""
          if (jobMessages.size >= maxCachedJobMessages) jobMessages.clear()
          jobMessages.set(job.metadata.uid, message)
          return message === "" ? undefined : message
        }),
        // Diagnostics only: the Job's own Failed condition is reported either way.
        Effect.catch(() => Effect.succeed(undefined)),
      )
  }

  return (workspace: Workspace, key: string, uid: string | undefined): Effect.Effect<Children> =>
    Effect.gen(function* () {
      const names = contextOf(workspace)
      const namespace = names.namespace
      const mine = (object: Live<KubeObject> | undefined) => {
        if (object === undefined) return undefined
        const controller = controllerUidOf(object)
        return controller === undefined || controller === uid ? object : undefined
      }
      const owned = view.owned("Job", key)
      const jobs = owned.filter((job) => mine(job) !== undefined)
      // The scheduled backups' Jobs are controlled by this Workspace's CronJob.
      const cronJob = mine(view.get("CronJob", { namespace, name: backupCronJobName(names) }))
      const scheduledBackupJobs =
        cronJob === undefined ? [] : owned.filter((job) => controllerUidOf(job) === cronJob.metadata.uid)
      const messages = new Map<string, string>()
      for (const job of [...jobs, ...scheduledBackupJobs]) {
        const component = job.metadata.labels?.[labelKeys.component]
        const state = jobStateOf(job).state
        // A failed Job's message says why; a succeeded backup's names the file it wrote (`status.lastBackup`).
        const read =
          state === "failed"
            ? component === "migration" || component === "backup" || component === "restore"
            : state === "succeeded" && component === "backup"
        if (!read) continue
        const message = yield* terminationMessage(job)
        if (message !== undefined) messages.set(job.metadata.name, message)
      }
      const database = mine(view.get("StatefulSet", { namespace, name: databaseName(names) }))
      const deployments = view.owned("Deployment", key).filter((d) => mine(d) !== undefined)
      // A restore whose pod cannot start (a claim of restoreFrom that does not exist) is said, not waited for.
      const restoring = jobs.some(
        (job) => job.metadata.labels?.[labelKeys.component] === "restore" && jobStateOf(job).state === "running",
      )
      const diagnosed =
        restoring || needsDiagnosis([...deployments, ...(database === undefined ? [] : [database])])
          ? yield* readPods(client, namespace, names.name)
          : { pods: [], mountEvents: [] }
      // The Secrets the spec names: the user's (their facts, in the watch's cache) or ours (another Workspace's, in the
      // children's). One in a namespace the operator does not watch is not looked at.
      const secrets = new Map<string, SecretObservation>()
      for (const { namespace: at, name } of referencedSecrets(names)) {
        const ref = { namespace: at, name }
        if (!watches(at) || secrets.has(objectKey(ref))) continue
        secrets.set(objectKey(ref), observeSecret(ref, secretFacts.get(ref) ?? view.get("Secret", ref)))
      }
      return {
        secret: view.get("Secret", { namespace, name: secretName(names) }),
        database,
        server: mine(view.get("Deployment", { namespace, name: serverName(names) })),
        redis: mine(view.get("Deployment", { namespace, name: redisName(names) })),
        services: mine(view.get("Deployment", { namespace, name: servicesName(names) })),
        deployments,
        jobs,
        scheduledBackupJobs,
        roles: view.owned("Role", key),
        jobMessages: messages,
        databaseVolumeRetained: olderThan(
          view.get("PersistentVolumeClaim", { namespace, name: databaseVolumeName(names) }),
          workspace.metadata.creationTimestamp,
        ),
        referencedSecrets: [...secrets.values()],
        ...diagnosed,
      }
    })
}
