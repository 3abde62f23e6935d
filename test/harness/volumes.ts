// PersistentVolumes pre-bound to one claim: what an administrator provides on a cluster without a provisioner for
// the nodes a pod lands on (kwok's fake nodes, the install suite's own cluster). The scheduler does not place a pod
// whose claim is unbound; a volume whose claimRef names the claim binds to it whatever the claim's class.

export interface PreboundVolume {
  /** The PersistentVolume's name (cluster-wide: make it unique to the suite). */
  readonly name: string
  readonly namespace: string
  readonly claim: string
  /** Host directory behind it (only a real node ever mounts it). */
  readonly path: string
  /** Default 100Gi: more than any claim of the tests asks for. */
  readonly capacity?: string
  readonly labels?: Readonly<Record<string, string>>
}

/** The PersistentVolume, as a manifest for `kubectl apply` or a client. */
export const preboundVolume = (volume: PreboundVolume) => ({
  apiVersion: "v1",
  kind: "PersistentVolume",
  metadata: { name: volume.name, ...(volume.labels === undefined ? {} : { labels: volume.labels }) },
  spec: {
    capacity: { storage: volume.capacity ?? "100Gi" },
    accessModes: ["ReadWriteOnce"],
    persistentVolumeReclaimPolicy: "Retain",
    storageClassName: "",
    hostPath: { path: volume.path, type: "DirectoryOrCreate" },
    claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: volume.namespace, name: volume.claim },
  },
})
