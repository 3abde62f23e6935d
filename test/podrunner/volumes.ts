// Pod volumes as local directories. Honoured: emptyDir (a fresh directory per pod), persistentVolumeClaim (the
// directory of the hostPath/local PersistentVolume it is bound to, see provisioner.ts), secret and configMap (their
// keys written as files), and projected volumes of ServiceAccount token + ConfigMap + downward API (what the
// ServiceAccount admission plugin adds: a real token from the TokenRequest API). Anything else is reported, and
// the pod stays Pending.
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { V1Container, V1Pod, V1Volume } from "@kubernetes/client-node"
import type { KubeApi } from "../harness/kubeApi.js"
import type { Mount } from "./rewrite.js"

export class VolumeError extends Error {}

export interface PreparedVolume {
  readonly name: string
  readonly localPath: string
  /** Set for a projected ServiceAccount token: a kubeconfig with that token, for clients that fall back to it. */
  readonly kubeconfig?: string
}

interface DataObject {
  readonly data?: Record<string, string>
  readonly binaryData?: Record<string, string>
}

interface PersistentVolume {
  readonly spec?: { readonly hostPath?: { readonly path: string }; readonly local?: { readonly path: string } }
}

const writeKeys = async (
  dir: string,
  data: Record<string, Buffer>,
  items?: ReadonlyArray<{ readonly key: string; readonly path: string }>,
) => {
  await mkdir(dir, { recursive: true })
  const selected = items?.length ? items : Object.keys(data).map((key) => ({ key, path: key }))
  for (const { key, path } of selected) {
    const content = data[key]
    if (content === undefined) continue
    const file = join(dir, path)
    await mkdir(join(file, ".."), { recursive: true })
    await writeFile(file, content, { mode: 0o644 })
  }
}

const dataOf = (object: DataObject, base64: boolean): Record<string, Buffer> => {
  const out: Record<string, Buffer> = {}
  for (const [k, v] of Object.entries(object.data ?? {})) out[k] = Buffer.from(v, base64 ? "base64" : "utf8")
  for (const [k, v] of Object.entries(object.binaryData ?? {})) out[k] = Buffer.from(v, "base64")
  return out
}

export const kubeconfigFor = (server: string, caPem: string, token: string, namespace: string) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "cluster", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } },
    ],
    users: [{ name: "serviceaccount", user: { token } }],
    contexts: [{ name: "pod", context: { cluster: "cluster", user: "serviceaccount", namespace } }],
    "current-context": "pod",
  })

/** Checks what can be honoured before anything is created: the reason the pod must stay Pending, if any. */
export const unsupportedVolume = (volume: V1Volume): string | undefined => {
  if (volume.emptyDir || volume.persistentVolumeClaim || volume.secret || volume.configMap) return undefined
  if (volume.projected) {
    const bad = (volume.projected.sources ?? []).find(
      (s) => !(s.serviceAccountToken || s.configMap || s.secret || s.downwardAPI),
    )
    return bad ? `volume "${volume.name}": projected source ${Object.keys(bad).join(",")} is not supported` : undefined
  }
  const kind = Object.keys(volume).find((k) => k !== "name") ?? "unknown"
  return `volume "${volume.name}" of type ${kind} is not supported by the local pod runner (it supports emptyDir, persistentVolumeClaim, secret, configMap and projected ServiceAccount tokens)`
}

export const prepareVolumes = async (
  api: KubeApi,
  pod: V1Pod,
  podDir: string,
): Promise<ReadonlyArray<PreparedVolume>> => {
  const namespace = pod.metadata?.namespace ?? "default"
  const out: Array<PreparedVolume> = []
  for (const volume of pod.spec?.volumes ?? []) {
    const reason = unsupportedVolume(volume)
    if (reason) throw new VolumeError(reason)
    const dir = join(podDir, "volumes", volume.name)
    if (volume.emptyDir) {
      await mkdir(dir, { recursive: true })
      out.push({ name: volume.name, localPath: dir })
    } else if (volume.persistentVolumeClaim) {
      const claim = volume.persistentVolumeClaim.claimName
      const pvc = await api.find<{ spec?: { volumeName?: string } }>(
        `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claim}`,
      )
      if (!pvc) throw new VolumeError(`persistentvolumeclaim "${claim}" not found`)
      const pvName = pvc.spec?.volumeName
      if (!pvName) throw new VolumeError(`persistentvolumeclaim "${claim}" is not bound yet`)
      const pv = await api.find<PersistentVolume>(`/api/v1/persistentvolumes/${pvName}`)
      const path = pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path
      if (!path) throw new VolumeError(`persistentvolume "${pvName}" is neither hostPath nor local`)
      await mkdir(path, { recursive: true })
      out.push({ name: volume.name, localPath: path })
    } else if (volume.secret) {
      const name = volume.secret.secretName ?? ""
      const secret = await api.find<DataObject>(`/api/v1/namespaces/${namespace}/secrets/${name}`)
      if (!secret && !volume.secret.optional) throw new VolumeError(`secret "${name}" not found`)
      await writeKeys(dir, secret ? dataOf(secret, true) : {}, volume.secret.items)
      out.push({ name: volume.name, localPath: dir })
    } else if (volume.configMap) {
      const name = volume.configMap.name ?? ""
      const cm = await api.find<DataObject>(`/api/v1/namespaces/${namespace}/configmaps/${name}`)
      if (!cm && !volume.configMap.optional) throw new VolumeError(`configmap "${name}" not found`)
      await writeKeys(dir, cm ? dataOf(cm, false) : {}, volume.configMap.items)
      out.push({ name: volume.name, localPath: dir })
    } else if (volume.projected) {
      await mkdir(dir, { recursive: true })
      let token: string | undefined
      let ca: string | undefined
      for (const source of volume.projected.sources ?? []) {
        if (source.serviceAccountToken) {
          const sa = pod.spec?.serviceAccountName ?? "default"
          const response = await api.post<{ status?: { token?: string } }>(
            `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`,
            {
              apiVersion: "authentication.k8s.io/v1",
              kind: "TokenRequest",
              spec: {
                audiences: source.serviceAccountToken.audience ? [source.serviceAccountToken.audience] : [],
                expirationSeconds: Math.max(source.serviceAccountToken.expirationSeconds ?? 3607, 86_400),
                boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata?.name, uid: pod.metadata?.uid },
              },
            },
          )
          token = response.status?.token
          if (!token) throw new VolumeError(`TokenRequest for serviceaccount "${sa}" returned no token`)
          await writeFile(join(dir, source.serviceAccountToken.path), token, { mode: 0o600 })
        } else if (source.configMap) {
          const cm = await api.find<DataObject>(`/api/v1/namespaces/${namespace}/configmaps/${source.configMap.name}`)
          if (!cm && !source.configMap.optional) {
            throw new VolumeError(`configmap "${source.configMap.name}" not found`)
          }
          const data = cm ? dataOf(cm, false) : {}
          await writeKeys(dir, data, source.configMap.items)
          if (source.configMap.name === "kube-root-ca.crt") ca = data["ca.crt"]?.toString("utf8")
        } else if (source.secret) {
          const secret = await api.find<DataObject>(`/api/v1/namespaces/${namespace}/secrets/${source.secret.name}`)
          if (!secret && !source.secret.optional) throw new VolumeError(`secret "${source.secret.name}" not found`)
          await writeKeys(dir, secret ? dataOf(secret, true) : {}, source.secret.items)
        } else if (source.downwardAPI) {
          for (const item of source.downwardAPI.items ?? []) {
            const field = item.fieldRef?.fieldPath
            const value =
              field === "metadata.namespace"
                ? namespace
                : field === "metadata.name"
                  ? (pod.metadata?.name ?? "")
                  : field === "metadata.uid"
                    ? (pod.metadata?.uid ?? "")
                    : ""
            await writeFile(join(dir, item.path), value)
          }
        }
      }
      const kubeconfig =
        token && ca ? join(podDir, "volumes", `${volume.name}.kubeconfig`) : (undefined as string | undefined)
      if (kubeconfig && token && ca) {
        await writeFile(kubeconfig, kubeconfigFor(api.server, ca, token, namespace), { mode: 0o600 })
      }
      out.push({ name: volume.name, localPath: dir, ...(kubeconfig ? { kubeconfig } : {}) })
    }
  }
  return out
}

/** Where a container's volume mounts are on this machine: each mount path with the prepared volume's directory. */
export const mountsOf = (container: V1Container, volumes: ReadonlyArray<PreparedVolume>): ReadonlyArray<Mount> =>
  (container.volumeMounts ?? []).flatMap((m) => {
    const volume = volumes.find((v) => v.name === m.name)
    if (volume === undefined) return []
    return [{ containerPath: m.mountPath, localPath: m.subPath ? join(volume.localPath, m.subPath) : volume.localPath }]
  })
