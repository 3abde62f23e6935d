// A container's probes as a kubelet runs them: startup first (its failure restarts the container), then readiness
// (it marks the container ready or not) and liveness (its failure restarts the container), each on its own period.
import type { V1Probe } from "@kubernetes/client-node"
import { type ContainerRecord, sleep } from "./containers.js"
import { type ProbeTarget, runProbe } from "./probes.js"

export interface ProbeOptions {
  readonly target: ProbeTarget
  /** Stops the container's process, so that its restart policy starts it again. */
  readonly restart: () => Promise<void>
  readonly event: (type: "Normal" | "Warning", reason: string, message: string) => void
  readonly statusChanged: () => void
  readonly signal: AbortSignal
}

/** Runs `c`'s probes until the container ends (`signal`), updating its `started` and `ready`. */
export const runContainerProbes = async (c: ContainerRecord, options: ProbeOptions): Promise<void> => {
  const kill = async (what: string) => {
    options.event("Normal", "Killing", `Container ${c.spec.name} failed ${what} probe, will be restarted`)
    await options.restart()
  }
  // Runs a probe on its period; resolves on `until` (true) or when `failureThreshold` is reached (false).
  const loop = async (probe: V1Probe, onResult: (ok: boolean) => boolean | undefined): Promise<boolean | undefined> => {
    await sleep((probe.initialDelaySeconds ?? 0) * 1000, options.signal)
    let failures = 0
    let successes = 0
    while (!options.signal.aborted) {
      const ok = await runProbe(probe, options.target)
      if (options.signal.aborted) return undefined
      if (ok) {
        failures = 0
        successes += 1
        if (successes >= (probe.successThreshold ?? 1)) {
          const decided = onResult(true)
          if (decided !== undefined) return decided
        }
      } else {
        successes = 0
        failures += 1
        if (failures >= (probe.failureThreshold ?? 3)) {
          const decided = onResult(false)
          if (decided !== undefined) return decided
          failures = 0
        }
      }
      await sleep((probe.periodSeconds ?? 10) * 1000, options.signal)
    }
    return undefined
  }

  const spec = c.spec
  if (spec.startupProbe) {
    const passed = await loop(spec.startupProbe, (ok) => ok)
    if (passed === false) {
      options.event("Warning", "Unhealthy", `Startup probe failed for container ${spec.name}`)
      await kill("startup")
      return
    }
    if (passed === undefined) return
  }
  c.started = true
  if (!spec.readinessProbe) c.ready = true
  options.statusChanged()
  const readiness = spec.readinessProbe
    ? loop(spec.readinessProbe, (ok) => {
        if (c.ready !== ok) {
          c.ready = ok
          if (!ok) options.event("Warning", "Unhealthy", `Readiness probe failed for container ${spec.name}`)
          options.statusChanged()
        }
        return undefined
      })
    : Promise.resolve(undefined)
  const liveness = spec.livenessProbe
    ? loop(spec.livenessProbe, (ok) => (ok ? undefined : false)).then(async (result) => {
        if (result === false) {
          options.event("Warning", "Unhealthy", `Liveness probe failed for container ${spec.name}`)
          await kill("liveness")
        }
      })
    : Promise.resolve()
  await Promise.all([readiness, liveness])
}
