// Dynamic provisioning for the real node, as local-path-provisioner does it for kind: the default StorageClass
// `cartographer-local` (WaitForFirstConsumer, reclaim Delete) gets, for each claim the scheduler placed on the node,
// a `local` PersistentVolume in the node's directory. `local` volumes (unlike hostPath) are managed by kubelet, so a
// pod's `fsGroup` applies to them: the directory is created root-owned 0755, writable to a non-root pod only through
// its fsGroup, as on a cloud disk.
import { mkdir, rm } from "node:fs/promises"
import { join } from "node:path"
import {
  CoreV1Api,
  type KubeConfig,
  makeInformer,
  StorageV1Api,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
} from "@kubernetes/client-node"

export const storageClassName = "cartographer-local"
export const provisionerName = "cartographer.dev/local-volume"

export interface Provisioner {
  stop(): Promise<void>
}

const conflict = (error: unknown) => (error as { code?: number }).code === 409
const notFound = (error: unknown) => (error as { code?: number }).code === 404

/** Creates the default StorageClass (if absent) and starts provisioning for `nodeName` into `volumeDir`. */
export const startProvisioner = async (
  admin: KubeConfig,
  options: { readonly nodeName: string; readonly volumeDir: string; readonly log: (line: string) => void },
): Promise<Provisioner> => {
  const core = admin.makeApiClient(CoreV1Api)
  const storage = admin.makeApiClient(StorageV1Api)
  await mkdir(options.volumeDir, { recursive: true, mode: 0o755 })
  try {
    await storage.createStorageClass({
      body: {
        metadata: {
          name: storageClassName,
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: provisionerName,
        volumeBindingMode: "WaitForFirstConsumer",
        reclaimPolicy: "Delete",
      },
    })
  } catch (error) {
    if (!conflict(error)) throw error
  }

  const pathOf = (pvName: string) => join(options.volumeDir, pvName)
  const inFlight = new Set<string>()

  const provision = async (claim: V1PersistentVolumeClaim) => {
    const { namespace = "", name = "", uid = "", annotations = {} } = claim.metadata ?? {}
    // The PV controller names the provisioner once the claim waits for one; the scheduler, the node.
    if (annotations["volume.kubernetes.io/storage-provisioner"] !== provisionerName) return
    if (annotations["volume.kubernetes.io/selected-node"] !== options.nodeName) return
    if (claim.spec?.volumeName || inFlight.has(uid)) return
    inFlight.add(uid)
    const pvName = `pvc-${uid}`
    try {
      await mkdir(pathOf(pvName), { mode: 0o755 })
      await core.createPersistentVolume({
        body: {
          metadata: { name: pvName, annotations: { "pv.kubernetes.io/provisioned-by": provisionerName } },
          spec: {
            capacity: { storage: claim.spec?.resources?.requests?.storage ?? "1Gi" },
            accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Delete",
            storageClassName: claim.spec?.storageClassName ?? storageClassName,
            volumeMode: "Filesystem",
            local: { path: pathOf(pvName) },
            claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid },
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [options.nodeName] }] },
                ],
              },
            },
          },
        },
      })
      options.log(`provisioned ${pvName} for ${namespace}/${name}`)
    } catch (error) {
      if (!conflict(error)) options.log(`could not provision ${namespace}/${name}: ${String(error)}`)
    } finally {
      inFlight.delete(uid)
    }
  }

  // A released volume of ours is deleted with its data, as the class's reclaim policy says.
  const reclaim = async (volume: V1PersistentVolume) => {
    const name = volume.metadata?.name ?? ""
    if (volume.metadata?.annotations?.["pv.kubernetes.io/provisioned-by"] !== provisionerName) return
    if (volume.status?.phase !== "Released" || volume.spec?.persistentVolumeReclaimPolicy !== "Delete") return
    if (inFlight.has(name)) return
    inFlight.add(name)
    try {
      await rm(pathOf(name), { recursive: true, force: true })
      await core.deletePersistentVolume({ name })
      options.log(`deleted released ${name}`)
    } catch (error) {
      if (!notFound(error)) options.log(`could not delete ${name}: ${String(error)}`)
    } finally {
      inFlight.delete(name)
    }
  }

  const claims = makeInformer(admin, "/api/v1/persistentvolumeclaims", () =>
    core.listPersistentVolumeClaimForAllNamespaces(),
  )
  const volumes = makeInformer(admin, "/api/v1/persistentvolumes", () => core.listPersistentVolume())
  let stopped = false
  for (const informer of [claims, volumes] as const) {
    informer.on("error", (error: unknown) => {
      if (stopped) return
      options.log(`provisioner watch: ${String(error)}; restarting`)
      setTimeout(() => void informer.start().catch(() => undefined), 1_000)
    })
  }
  claims.on("add", (c) => void provision(c))
  claims.on("update", (c) => void provision(c))
  volumes.on("add", (v) => void reclaim(v))
  volumes.on("update", (v) => void reclaim(v))
  await Promise.all([claims.start(), volumes.start()])
  return {
    stop: async () => {
      stopped = true
      await Promise.all([claims.stop(), volumes.stop()])
    },
  }
}
