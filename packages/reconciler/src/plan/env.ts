/**
 * Merging a user's `env` into the variables Cartographer sets on a container.
 *
 * The Schema accepts any variable name, so the planner decides, deterministically:
 * - a user variable named like one of ours (or like a Prefect alias of one of ours, which Prefect would read
 *   instead or as well) is dropped: ours is what makes the deployment work (database URL, API URL, migrate-on-start);
 * - of several user variables with the same name, the last one is kept (what the kubelet would do), the others are
 *   dropped: server-side apply treats `env` as a map keyed by name and rejects duplicates outright.
 * Every dropped entry is reported (path + why), and the plan surfaces the list as `Degraded/EnvVarsIgnored`, so the
 * user learns about it without the Workspace failing.
 */
import type { EnvVar as SpecEnvVar } from "@cartographer/schema"
import type { EnvVar } from "./kube.js"

export interface IgnoredEnv {
  /** Path of the dropped entry in the Workspace, e.g. `spec.workflows.server.env[2]`. */
  readonly path: string
  readonly name: string
  readonly why: "reserved" | "duplicate"
}

export interface MergedEnv {
  readonly env: ReadonlyArray<EnvVar>
  readonly ignored: ReadonlyArray<IgnoredEnv>
}

const toKube = (env: SpecEnvVar): EnvVar => {
  const from = env.valueFrom
  if (from === undefined) return { name: env.name, value: env.value ?? "" }
  return {
    name: env.name,
    valueFrom:
      from.secretKeyRef !== undefined
        ? { secretKeyRef: { name: from.secretKeyRef.name, key: from.secretKeyRef.key } }
        : from.configMapKeyRef !== undefined
          ? { configMapKeyRef: { name: from.configMapKeyRef.name, key: from.configMapKeyRef.key } }
          : {},
  }
}

/**
 * `ours` first (in their order), then the user's kept variables in their order.
 * `aliases` are further names reserved on this container (Prefect's alternative spellings of ours).
 */
export const mergeEnv = (
  ours: ReadonlyArray<EnvVar>,
  user: ReadonlyArray<SpecEnvVar> | undefined,
  path: string,
  aliases: ReadonlyArray<string> = [],
): MergedEnv => {
  if (user === undefined || user.length === 0) return { env: ours, ignored: [] }
  const reserved = new Set<string>(aliases)
  for (const variable of ours) reserved.add(variable.name)
  const lastIndex = new Map<string, number>()
  user.forEach((variable, index) => {
    lastIndex.set(variable.name, index)
  })
  const env: Array<EnvVar> = [...ours]
  const ignored: Array<IgnoredEnv> = []
  user.forEach((variable, index) => {
    const at = `${path}[${index}]`
    if (reserved.has(variable.name)) ignored.push({ path: at, name: variable.name, why: "reserved" })
    else if (lastIndex.get(variable.name) !== index) ignored.push({ path: at, name: variable.name, why: "duplicate" })
    else env.push(toKube(variable))
  })
  return { env, ignored }
}

export const describeIgnored = (entry: IgnoredEnv): string =>
  entry.why === "reserved"
    ? `${entry.path} (${entry.name}) is set by Cartographer`
    : `${entry.path} (${entry.name}) is overridden by a later entry of the same name`
