// A container's environment as the kubelet builds it: `envFrom` first, then `env` in order, with `valueFrom`
// (Secret and ConfigMap keys, the downward API's pod fields) resolved and `$(VAR)` references expanded against the
// variables defined before (`$$(VAR)` escapes). `command` and `args` are expanded against the result.
import type { V1Container, V1Pod } from "@kubernetes/client-node"
import type { KubeApi } from "../harness/kubeApi.js"

/** A variable whose source is missing: the kubelet reports CreateContainerConfigError and retries. */
export class ConfigError extends Error {}

interface DataObject {
  readonly data?: Record<string, string>
}

export const expand = (value: string, vars: ReadonlyMap<string, string>): string =>
  value.replace(/\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/gu, (match, name: string | undefined) => {
    if (match === "$$") return "$"
    return name !== undefined && vars.has(name) ? (vars.get(name) as string) : match
  })

const fieldRef = (pod: V1Pod, podIp: string, hostIp: string, path: string): string | undefined => {
  const label = /^metadata\.labels\['(.+)'\]$/u.exec(path)
  if (label?.[1]) return pod.metadata?.labels?.[label[1]]
  const annotation = /^metadata\.annotations\['(.+)'\]$/u.exec(path)
  if (annotation?.[1]) return pod.metadata?.annotations?.[annotation[1]]
  switch (path) {
    case "metadata.name":
      return pod.metadata?.name
    case "metadata.namespace":
      return pod.metadata?.namespace
    case "metadata.uid":
      return pod.metadata?.uid
    case "spec.nodeName":
      return pod.spec?.nodeName
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName
    case "status.podIP":
    case "status.podIPs":
      return podIp
    case "status.hostIP":
    case "status.hostIPs":
      return hostIp
    default:
      return undefined
  }
}

export const resolveEnv = async (
  api: KubeApi,
  pod: V1Pod,
  container: V1Container,
  addresses: { readonly podIp: string; readonly hostIp: string },
): Promise<Map<string, string>> => {
  const namespace = pod.metadata?.namespace ?? "default"
  const cache = new Map<string, DataObject | undefined>()
  const read = async (kind: "secrets" | "configmaps", name: string) => {
    const key = `${kind}/${name}`
    if (!cache.has(key)) cache.set(key, await api.find<DataObject>(`/api/v1/namespaces/${namespace}/${kind}/${name}`))
    return cache.get(key)
  }
  const decode = (kind: "secrets" | "configmaps", raw: string) =>
    kind === "secrets" ? Buffer.from(raw, "base64").toString("utf8") : raw

  const vars = new Map<string, string>()
  for (const source of container.envFrom ?? []) {
    const kind = source.secretRef ? "secrets" : "configmaps"
    const ref = source.secretRef ?? source.configMapRef
    if (!ref?.name) continue
    const object = await read(kind, ref.name)
    if (!object) {
      if (ref.optional) continue
      throw new ConfigError(`${kind === "secrets" ? "secret" : "configmap"} "${ref.name}" not found`)
    }
    for (const [key, raw] of Object.entries(object.data ?? {}))
      vars.set(`${source.prefix ?? ""}${key}`, decode(kind, raw))
  }
  for (const env of container.env ?? []) {
    const from = env.valueFrom
    if (!from) {
      vars.set(env.name, expand(env.value ?? "", vars))
      continue
    }
    const keyRef = from.secretKeyRef ?? from.configMapKeyRef
    if (keyRef) {
      const kind = from.secretKeyRef ? "secrets" : "configmaps"
      const object = await read(kind, keyRef.name ?? "")
      const raw = object?.data?.[keyRef.key]
      if (raw === undefined) {
        if (keyRef.optional) continue
        const what = kind === "secrets" ? "secret" : "configmap"
        throw new ConfigError(
          object
            ? `couldn't find key ${keyRef.key} in ${what} ${namespace}/${keyRef.name}`
            : `${what} "${keyRef.name}" not found`,
        )
      }
      vars.set(env.name, decode(kind, raw))
    } else if (from.fieldRef) {
      vars.set(env.name, fieldRef(pod, addresses.podIp, addresses.hostIp, from.fieldRef.fieldPath) ?? "")
    } else if (from.resourceFieldRef) {
      // Limits are not enforced here; report what the spec says (the kubelet would default to node allocatable).
      const [kind, resource] = from.resourceFieldRef.resource.split(".")
      const quantity =
        kind === "limits"
          ? container.resources?.limits?.[resource ?? ""]
          : container.resources?.requests?.[resource ?? ""]
      vars.set(env.name, String(quantity ?? "0"))
    }
  }
  return vars
}
