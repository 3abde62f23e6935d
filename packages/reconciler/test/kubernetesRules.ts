/**
 * Kubernetes' own validation rules for the names and labels the planner generates (apimachinery's
 * `validation.IsDNS1123Label`, `IsDNS1035Label`, `IsDNS1123Subdomain`, `IsQualifiedName`, `IsValidLabelValue`,
 * `IsValidPortName`), written out so that properties can check every generated object against them.
 */
import type { ManagedObject } from "../src/index.js"
import type { Labels, PodSpec } from "../src/plan/kube.js"

const dns1123LabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/u
const dns1035LabelRe = /^[a-z]([-a-z0-9]*[a-z0-9])?$/u
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/u
const qualifiedNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/u
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/u
const portNameRe = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/u
const envNameRe = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/u

export const isDns1123Label = (s: string): boolean => s.length <= 63 && dns1123LabelRe.test(s)
export const isDns1035Label = (s: string): boolean => s.length <= 63 && dns1035LabelRe.test(s)
export const isDns1123Subdomain = (s: string): boolean => s.length <= 253 && dns1123SubdomainRe.test(s)
export const isLabelValue = (s: string): boolean => s.length <= 63 && labelValueRe.test(s)
export const isQualifiedName = (s: string): boolean => {
  const parts = s.split("/")
  if (parts.length > 2) return false
  const name = parts.at(-1) ?? ""
  const prefix = parts.length === 2 ? (parts[0] ?? "") : undefined
  return (
    name.length <= 63 &&
    qualifiedNameRe.test(name) &&
    (prefix === undefined || (prefix !== "" && isDns1123Subdomain(prefix)))
  )
}
export const isPortName = (s: string): boolean =>
  s.length <= 15 && portNameRe.test(s) && /[a-z]/u.test(s) && !s.includes("--")
export const isEnvName = (s: string): boolean => envNameRe.test(s)

/** Every label map of an object: its own, its selector's, its pod template's, its Service/NetworkPolicy selectors. */
export const labelMaps = (object: ManagedObject): ReadonlyArray<Labels> => {
  const maps: Array<Labels> = [object.metadata.labels]
  switch (object.kind) {
    case "Deployment":
    case "StatefulSet":
      maps.push(object.spec.selector.matchLabels, object.spec.template.metadata.labels)
      break
    case "Job":
      maps.push(object.spec.template.metadata.labels)
      break
    case "CronJob":
      maps.push(object.spec.jobTemplate.metadata.labels, object.spec.jobTemplate.spec.template.metadata.labels)
      break
    case "Service":
      maps.push(object.spec.selector)
      break
    case "NetworkPolicy":
      maps.push(object.spec.podSelector.matchLabels)
      for (const rule of object.spec.ingress) for (const peer of rule.from) maps.push(peer.podSelector.matchLabels)
      break
    default:
      break
  }
  return maps
}

export const podSpecOf = (object: ManagedObject): PodSpec | undefined =>
  object.kind === "Deployment" || object.kind === "StatefulSet" || object.kind === "Job"
    ? object.spec.template.spec
    : object.kind === "CronJob"
      ? object.spec.jobTemplate.spec.template.spec
      : undefined

/** Why an object's name, labels or pod fields would be rejected (empty when valid). */
export const violations = (object: ManagedObject): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const { name, namespace } = object.metadata
  const where = `${object.kind}/${name}`
  if (!isDns1123Label(namespace)) problems.push(`${where}: namespace ${namespace}`)
  const nameOk = (() => {
    switch (object.kind) {
      case "Service":
        return isDns1035Label(name)
      // A StatefulSet's pods carry `controller-revision-hash=<name>-<up to 10 chars>`.
      // A CronJob's Jobs append 11 characters as well.
      case "StatefulSet":
      case "CronJob":
        return isDns1123Label(name) && name.length <= 52
      // Deployments and Jobs: pod names and the `job-name` label derive from the name.
      case "Deployment":
      case "Job":
      case "ServiceAccount":
        return isDns1123Label(name)
      default:
        return isDns1123Subdomain(name)
    }
  })()
  if (!nameOk) problems.push(`${where}: name`)
  for (const map of labelMaps(object)) {
    for (const [key, value] of Object.entries(map)) {
      if (!isQualifiedName(key)) problems.push(`${where}: label key ${key}`)
      if (!isLabelValue(value)) problems.push(`${where}: label ${key}=${value}`)
    }
  }
  for (const key of Object.keys(object.metadata.annotations ?? {}))
    if (!isQualifiedName(key)) problems.push(`${where}: annotation key ${key}`)
  if (object.kind === "Service")
    for (const port of object.spec.ports) if (!isPortName(port.name)) problems.push(`${where}: port ${port.name}`)
  const pod = podSpecOf(object)
  if (pod !== undefined) {
    const containers = [...(pod.initContainers ?? []), ...pod.containers]
    const names = new Set<string>()
    for (const container of containers) {
      if (!isDns1123Label(container.name)) problems.push(`${where}: container ${container.name}`)
      if (names.has(container.name)) problems.push(`${where}: duplicate container ${container.name}`)
      names.add(container.name)
      for (const port of container.ports ?? []) if (!isPortName(port.name)) problems.push(`${where}: port ${port.name}`)
      const envNames = new Set<string>()
      for (const env of container.env ?? []) {
        if (!isEnvName(env.name)) problems.push(`${where}: env ${env.name}`)
        if (envNames.has(env.name)) problems.push(`${where}: duplicate env ${env.name}`)
        envNames.add(env.name)
      }
      const volumes = new Set((pod.volumes ?? []).map((v) => v.name))
      for (const mount of container.volumeMounts ?? [])
        if (!volumes.has(mount.name)) problems.push(`${where}: mount of unknown volume ${mount.name}`)
    }
    for (const volume of pod.volumes ?? [])
      if (!isDns1123Label(volume.name)) problems.push(`${where}: volume ${volume.name}`)
  }
  if ((object.kind === "Deployment" || object.kind === "StatefulSet") && pod !== undefined) {
    const template = object.spec.template.metadata.labels
    for (const [key, value] of Object.entries(object.spec.selector.matchLabels))
      if (template[key] !== value) problems.push(`${where}: selector ${key} does not match its pods`)
  }
  return problems
}
