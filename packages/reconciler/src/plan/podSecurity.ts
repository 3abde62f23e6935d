/**
 * Pod hardening shared by every workload, and the writable directories a Prefect container needs under a read-only
 * root filesystem (reference §8: prefect-helm's settings, known to work with the official images).
 */

import type { PlanContext } from "./context.js"
import type { Container, EnvVar, PodSecurityContext, PodSpec, SecurityContext, Volume, VolumeMount } from "./kube.js"

/** The official Prefect images have no USER; 1001 is what prefect-helm runs them as. */
export const prefectUid = 1001
/** The official postgres and redis images' own `postgres`/`redis` user (Debian variants). */
export const imageServiceUid = 999

export const podSecurity = (uid: number, options: { readonly group?: boolean } = {}): PodSecurityContext => ({
  runAsUser: uid,
  ...(options.group === true ? { runAsGroup: uid } : {}),
  runAsNonRoot: true,
  fsGroup: uid,
  seccompProfile: { type: "RuntimeDefault" },
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

/** A copy with keys in sorted order: the same selector written in another order yields the same objects and hash. */
const sortedRecord = (record: Readonly<Record<string, string>>): Readonly<Record<string, string>> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

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
