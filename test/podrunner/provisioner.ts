// A local volume provisioner (what kind's local-path-provisioner does for a real local cluster): every pending
// PersistentVolumeClaim the runner serves gets a hostPath PersistentVolume in the runner's directory, pre-bound to
// it through `claimRef` (kube-controller-manager's PV controller completes the binding), with reclaim policy
// Retain so that a deleted claim leaves its data. Without it, a pod with a claim is never scheduled: the test
// control plane has no storage provisioner.
import { join } from "node:path"
import { ApiError, type KubeApi } from "../harness/kubeApi.js"
import { keyOf, type Reflector, reflect } from "./Reflector.js"

interface Claim {
  readonly metadata?: { readonly namespace?: string; readonly name?: string; readonly uid?: string }
  readonly spec?: {
    readonly volumeName?: string
    readonly storageClassName?: string
    readonly accessModes?: ReadonlyArray<string>
    readonly resources?: { readonly requests?: Record<string, string> }
    readonly volumeMode?: string
  }
  readonly status?: { readonly phase?: string }
}

export const provisionerName = "cartographer.dev/pod-runner"

export const startProvisioner = (
  api: KubeApi,
  options: {
    readonly volumeDir: string
    readonly serves: (namespace: string) => boolean
    readonly log: (line: string) => void
  },
): Reflector<Claim> => {
  const inFlight = new Set<string>()
  const provision = async (claim: Claim) => {
    const uid = claim.metadata?.uid ?? ""
    const namespace = claim.metadata?.namespace ?? ""
    const name = claim.metadata?.name ?? ""
    const pvName = `pvc-${uid}`
    const path = join(options.volumeDir, `${namespace}_${name}_${uid.slice(0, 8)}`)
    try {
      await api.post("/api/v1/persistentvolumes", {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: {
          name: pvName,
          annotations: { "pv.kubernetes.io/provisioned-by": provisionerName },
          labels: { [provisionerName.replace("/", "-")]: "true" },
        },
        spec: {
          capacity: { storage: claim.spec?.resources?.requests?.storage ?? "1Gi" },
          accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName: claim.spec?.storageClassName ?? "",
          volumeMode: claim.spec?.volumeMode ?? "Filesystem",
          hostPath: { path, type: "DirectoryOrCreate" },
          claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid },
        },
      })
      options.log(`provisioned ${pvName} at ${path} for claim ${namespace}/${name}`)
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) {
        options.log(`could not provision a volume for ${namespace}/${name}: ${String(error)}`)
      }
    }
  }
  return reflect<Claim>(
    api,
    "/api/v1/persistentvolumeclaims",
    {},
    (type, claim) => {
      if (type === "DELETED") return
      const key = keyOf(claim)
      if (claim.spec?.volumeName || claim.status?.phase === "Bound") return
      if (!options.serves(claim.metadata?.namespace ?? "") || inFlight.has(key)) return
      inFlight.add(key)
      void provision(claim).finally(() => inFlight.delete(key))
    },
    (error) => options.log(`persistentvolumeclaims watch: ${String(error)}`),
  )
}
