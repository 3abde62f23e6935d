/**
 * Pod hardening shared by every workload, and the writable directories a Prefect container needs under a read-only
 * root filesystem (prefect-helm's settings, known to work with the official images: docs/architecture.md, "Prefect
 * facts"). With `placement.ts`, the one definition of a workload's pod: every planner module builds its pod from
 * `podFields` (or `prefectPod`) and `podTemplate`.
 */

import { cartographerVolumes } from "@cartographer/schema"
import type { PlanContext } from "./context.js"
import type {
  Container,
  EnvVar,
  PodSecurityContext,
  PodSpec,
  PodTemplateSpec,
  SecurityContext,
  Volume,
  VolumeMount,
} from "./kube.js"
import { type PodComponent, placementPodFields, podMetadata } from "./placement.js"

/** The official Prefect images have no USER; 1001 is what prefect-helm runs them as. */
export const prefectUid = 1001
/** The official postgres and redis images' own `postgres`/`redis` user (Debian variants). */
export const imageServiceUid = 999

export interface PodSecurityOptions {
  /** Run as `uid`'s group too. */
  readonly group?: boolean | undefined
  /** `OnRootMismatch`: no recursive chown of the volume on every start. */
  readonly fsGroupChangePolicy?: "OnRootMismatch" | undefined
}

export const podSecurity = (uid: number, options: PodSecurityOptions = {}): PodSecurityContext => ({
  runAsUser: uid,
  ...(options.group === true ? { runAsGroup: uid } : {}),
  runAsNonRoot: true,
  fsGroup: uid,
  seccompProfile: { type: "RuntimeDefault" },
  ...(options.fsGroupChangePolicy === undefined ? {} : { fsGroupChangePolicy: options.fsGroupChangePolicy }),
})

export const containerSecurity = (options: {
  readonly readOnlyRootFilesystem: boolean
  readonly runAsUser?: number
}): SecurityContext => ({
  ...(options.runAsUser === undefined ? {} : { runAsUser: options.runAsUser, runAsGroup: options.runAsUser }),
  runAsNonRoot: true,
  readOnlyRootFilesystem: options.readOnlyRootFilesystem,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
})

/** Where Cartographer's own volumes go; the Schema refuses these names and paths in a Workspace's `volumes`. */
const { home, tmp, prefectHome: prefectHomeVolume, uiBuild } = cartographerVolumes
export const prefectHome = home.mountPath
export const prefectDataDir = prefectHomeVolume.mountPath
export const uiBuildDir = uiBuild.mountPath
export const uiBuildVolume = uiBuild.name

/** `HOME` (and working directory), `/tmp` and `PREFECT_HOME`: what every Prefect process writes to. */
export const prefectScratch = {
  volumes: [
    { name: home.name, emptyDir: {} },
    { name: tmp.name, emptyDir: {} },
    { name: prefectHomeVolume.name, emptyDir: {} },
  ] satisfies ReadonlyArray<Volume>,
  mounts: [
    { name: home.name, mountPath: home.mountPath },
    { name: tmp.name, mountPath: tmp.mountPath },
    { name: prefectHomeVolume.name, mountPath: prefectHomeVolume.mountPath },
  ] satisfies ReadonlyArray<VolumeMount>,
  env: [
    { name: "HOME", value: prefectHome },
    { name: "PREFECT_HOME", value: prefectDataDir },
  ] satisfies ReadonlyArray<EnvVar>,
}

/**
 * Pull Secrets by name, each once: the API server merges `imagePullSecrets` by name, and server-side apply refuses a
 * list that names one twice.
 */
export const pullSecrets = (names: ReadonlyArray<string> | undefined): ReadonlyArray<{ readonly name: string }> =>
  [...new Set(names ?? [])].map((name) => ({ name }))

/** Pod fields every workload shares: pull secrets, the component's placement, no Service environment variables. */
const commonPodFields = (
  ctx: PlanContext,
  component: PodComponent,
): Pick<
  PodSpec,
  | "enableServiceLinks"
  | "imagePullSecrets"
  | "nodeSelector"
  | "affinity"
  | "tolerations"
  | "topologySpreadConstraints"
  | "priorityClassName"
> => {
  const imagePullSecrets = pullSecrets(ctx.workflows.imagePullSecrets)
  return {
    // Service links inject `<SERVICE>_PORT=tcp://...` variables; a Service whose name starts with `prefect-` would
    // inject `PREFECT_*` variables that Prefect reads as settings.
    enableServiceLinks: false,
    ...(imagePullSecrets.length === 0 ? {} : { imagePullSecrets }),
    ...placementPodFields(ctx, component),
  }
}

export const pullPolicy = (ctx: PlanContext): Container["imagePullPolicy"] => ctx.workflows.imagePullPolicy

/**
 * The pod fields every workload starts with, running as `uid`: no service-account token unless the pod needs one,
 * the shared fields and the component's placement, and the pod's security context. In the order the planner has
 * always written them: the applied intent is hashed as written.
 */
export const podFields = (
  ctx: PlanContext,
  component: PodComponent,
  uid: number,
  options: PodSecurityOptions & { readonly automountServiceAccountToken?: boolean } = {},
) => ({
  automountServiceAccountToken: options.automountServiceAccountToken ?? false,
  ...commonPodFields(ctx, component),
  securityContext: podSecurity(uid, options),
})

/** `podFields` of a Prefect container's pod (server, migration, workers). */
export const prefectPod = (
  ctx: PlanContext,
  component: PodComponent,
  options: { readonly automountServiceAccountToken?: boolean } = {},
) => podFields(ctx, component, prefectUid, options)

/** A workload's pod template: the pods' labels and annotations, then their spec. */
export const podTemplate = (ctx: PlanContext, component: PodComponent, spec: PodSpec): PodTemplateSpec => ({
  metadata: podMetadata(ctx, component),
  spec,
})
