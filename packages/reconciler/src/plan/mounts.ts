/**
 * What a team brings into the server's and workers' containers (`envFrom`, `volumes`, `volumeMounts`), after
 * Cartographer's own: its volumes and mounts come first and keep their names and paths (the Schema refuses a
 * Workspace that takes them), and a variable Cartographer sets in `env` wins over a key of the same name in `envFrom`
 * (Kubernetes gives `env` precedence).
 */
import type { EnvFromSource, Volume as SpecVolume, VolumeMount as SpecVolumeMount } from "@cartographer/schema"
import type { Container, Volume, VolumeMount } from "./kube.js"
import { canonical } from "./sorted.js"

/** The fields of a server or pool spec this module reads. */
export interface Mounting {
  readonly envFrom?: ReadonlyArray<EnvFromSource>
  readonly volumes?: ReadonlyArray<SpecVolume>
  readonly volumeMounts?: ReadonlyArray<SpecVolumeMount>
}

/** `envFrom` of the container, absent when the spec lists none. */
export const envFromOf = (spec: Mounting): Pick<Container, "envFrom"> =>
  spec.envFrom === undefined || spec.envFrom.length === 0 ? {} : { envFrom: canonical(spec.envFrom) }

/**
 * A `readOnly: false` left out: the API server stores these booleans without it (a plain `omitempty` field), and the
 * applied intent must hold on the object as stored (docs/adr/0005-engine-no-op-detection.md).
 */
const withoutFalseReadOnly = <A extends { readonly readOnly?: boolean }>(item: A): A => {
  if (item.readOnly !== false) return item
  const { readOnly: _false, ...rest } = item
  return rest as A
}

/** Cartographer's volumes, then the spec's. */
export const withVolumes = (ours: ReadonlyArray<Volume>, spec: Mounting): ReadonlyArray<Volume> => [
  ...ours,
  ...canonical(
    (spec.volumes ?? []).map((v) =>
      v.persistentVolumeClaim === undefined
        ? v
        : { ...v, persistentVolumeClaim: withoutFalseReadOnly(v.persistentVolumeClaim) },
    ),
  ),
]

/** Cartographer's mounts, then the spec's. */
export const withMounts = (ours: ReadonlyArray<VolumeMount>, spec: Mounting): ReadonlyArray<VolumeMount> => [
  ...ours,
  ...canonical((spec.volumeMounts ?? []).map(withoutFalseReadOnly)),
]
