/**
 * Pod hardening shared by every workload, and the writable directories a Prefect container needs under a read-only
 * root filesystem (prefect-helm's settings, known to work with the official images: docs/architecture.md, "Prefect
 * facts").
 */

import type { PlanContext } from "./context.js"
import type {
  Container,
  EnvVar,
  Labels,
  PodSecurityContext,
  PodSpec,
  PodTemplateSpec,
  SecurityContext,
  Volume,
  VolumeMount,
} from "./kube.js"
import { sortedRecord } from "./sorted.js"

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

export const prefectHome = "/home/prefect"
export const prefectDataDir = "/var/lib/prefect"
export const uiBuildDir = "/ui_build"

/** `HOME` (and working directory), `/tmp` and `PREFECT_HOME`: what every Prefect process writes to. */
export const prefectScratch = {
  volumes: [
    { name: "home", emptyDir: {} },
    { name: "tmp", emptyDir: {} },
    { name: "prefect-home", emptyDir: {} },
  ] satisfies ReadonlyArray<Volume>,
  mounts: [
    { name: "home", mountPath: prefectHome },
    { name: "tmp", mountPath: "/tmp" },
    { name: "prefect-home", mountPath: prefectDataDir },
  ] satisfies ReadonlyArray<VolumeMount>,
  env: [
    { name: "HOME", value: prefectHome },
    { name: "PREFECT_HOME", value: prefectDataDir },
  ] satisfies ReadonlyArray<EnvVar>,
}

/** Pod fields every workload shares: pull secrets, node selector, no Service environment variables. */
export const commonPodFields = (
  ctx: PlanContext,
): Pick<PodSpec, "enableServiceLinks" | "imagePullSecrets" | "nodeSelector"> => {
  const { imagePullSecrets, nodeSelector } = ctx.workflows
  return {
    // Service links inject `<SERVICE>_PORT=tcp://...` variables; a Service whose name starts with `prefect-` would
    // inject `PREFECT_*` variables that Prefect reads as settings.
    enableServiceLinks: false,
    ...(imagePullSecrets === undefined || imagePullSecrets.length === 0
      ? {}
      : { imagePullSecrets: imagePullSecrets.map((name) => ({ name })) }),
    ...(nodeSelector === undefined || Object.keys(nodeSelector).length === 0
      ? {}
      : { nodeSelector: sortedRecord(nodeSelector) }),
  }
}

export const pullPolicy = (ctx: PlanContext): Container["imagePullPolicy"] => ctx.workflows.imagePullPolicy

/**
 * The pod fields every workload starts with, running as `uid`: no service-account token unless the pod needs one,
 * the shared fields, and the pod's security context. In the order the planner has always written them: the applied
 * intent is hashed as written.
 */
export const podFields = (
  ctx: PlanContext,
  uid: number,
  options: PodSecurityOptions & { readonly automountServiceAccountToken?: boolean } = {},
): Pick<
  PodSpec,
  "automountServiceAccountToken" | "enableServiceLinks" | "imagePullSecrets" | "nodeSelector" | "securityContext"
> => ({
  automountServiceAccountToken: options.automountServiceAccountToken ?? false,
  ...commonPodFields(ctx),
  securityContext: podSecurity(uid, options),
})

/** `podFields` of a Prefect container's pod (server, migration, workers). */
export const prefectPod = (ctx: PlanContext, options: { readonly automountServiceAccountToken?: boolean } = {}) =>
  podFields(ctx, prefectUid, options)

/** A workload's pod template: the pods' labels, then their spec. */
export const podTemplate = (podLabels: Labels, spec: PodSpec): PodTemplateSpec => ({
  metadata: { labels: podLabels },
  spec,
})
