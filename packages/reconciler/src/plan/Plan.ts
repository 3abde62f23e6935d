/**
 * A Plan is plain data: the objects to server-side apply (in this order), what to prune, and the status to write.
 * The engine executes it; nothing here performs I/O.
 */
import type { WorkspaceStatus } from "@cartographer/schema"
import type { ManagedKind, ManagedObject } from "./kube.js"

/**
 * "Delete every `kind` in `namespace` matching `matchLabels` whose name is not in `keep`."
 *
 * Secrets and PersistentVolumeClaims never appear here: nothing that holds data is pruned.
 */
export interface PruneSelector {
  readonly apiVersion: string
  readonly kind: ManagedKind
  readonly namespace: string
  readonly matchLabels: Readonly<Record<string, string>>
  /** Names this plan applies; they are never pruned. Sorted. */
  readonly keep: ReadonlyArray<string>
  /**
   * When set, only objects whose controller ownerReference has this uid are pruned (a second safety net besides the
   * labels). Absent for objects in other namespaces, which cannot have the Workspace as owner, and when the
   * Workspace has no uid (offline planning).
   */
  readonly controllerUid?: string
  /**
   * Delete with propagation `Orphan`: what the object controls (a StatefulSet's pod) keeps running, for the object
   * planned next to adopt. Set only while a StatefulSet is re-created to change what cannot change in place.
   */
  readonly orphanDependents?: true
}

export interface Plan {
  readonly apply: ReadonlyArray<ManagedObject>
  readonly prune: ReadonlyArray<PruneSelector>
  readonly status: WorkspaceStatus
  /**
   * Plan again after this many seconds even if nothing changes: a decision of this plan changes by the clock then (a
   * failed migration's next attempt is due). Absent: only a change makes a difference.
   */
  readonly requeueAfterSeconds?: number
}
