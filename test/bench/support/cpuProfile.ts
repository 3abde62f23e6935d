// Where the operator's CPU time goes, from a V8 `.cpuprofile` (`node --cpu-prof`) of the bundled process: self time
// per function and per area (effect, undici, client-node, our packages, Node internals, GC). The bundle is one
// file of a few long lines (built as the operator ships, without comments), so functions are mapped back to their
// source module through the source map esbuild writes beside it.
import { readFileSync } from "node:fs"
import { dirname, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { originalPositionFor, TraceMap } from "@jridgewell/trace-mapping"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
  readonly hitCount?: number
  readonly children?: ReadonlyArray<number>
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export interface ProfileSummary {
  /** Wall time the profile covers. */
  readonly seconds: number
  /** CPU time sampled outside `(idle)`. */
  readonly busySeconds: number
  readonly areas: ReadonlyArray<{ readonly area: string; readonly percent: number }>
  readonly functions: ReadonlyArray<{ readonly name: string; readonly module: string; readonly percent: number }>
}

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url))

/** The source module (repository-relative, `packages/k8s/src/…`, `node_modules/undici/lib/…`) of a bundle position. */
const moduleLookup = (bundlePath: string) => {
  const map = new TraceMap(readFileSync(`${bundlePath}.map`, "utf8"))
  const bundleDir = dirname(bundlePath)
  const modules = new Map<string, string>()
  return (line: number, column: number): string => {
    // The profile's positions are 0-based; the source map's lines are 1-based.
    const { source } = originalPositionFor(map, { line: line + 1, column })
    if (source === null) return "(bundle prologue)"
    let module = modules.get(source)
    if (module === undefined) {
      module = relative(repoRoot, resolve(bundleDir, source))
      modules.set(source, module)
    }
    return module
  }
}

const areas: ReadonlyArray<readonly [RegExp, string]> = [
  [/^node_modules\/effect\//u, "effect (fibers, Schema, streams)"],
  [/^node_modules\/undici\//u, "undici (HTTP client)"],
  [/^node_modules\/@kubernetes\/client-node\//u, "client-node"],
  [/^packages\/k8s\//u, "@cartographer/k8s (client, watches, caches)"],
  [/^packages\/reconciler\/src\/engine\//u, "engine (queue, no-op checks, execution)"],
  [/^packages\/reconciler\/src\/plan\//u, "planner"],
  [/^packages\/schema\//u, "schema (decoding)"],
  [/^node_modules\/yaml\//u, "yaml"],
  [/^node:|^internal\//u, "Node internals (TLS, sockets, streams, JSON)"],
]

const areaOf = (module: string, functionName: string): string => {
  if (functionName === "(garbage collector)") return "garbage collection"
  if (functionName === "(program)") return "V8 and native code (program)"
  for (const [pattern, area] of areas) if (pattern.test(module)) return area
  return module === "" ? "V8 builtins" : (module.replace(/^node_modules\//u, "").split("/")[0] ?? module)
}

export const summarizeProfile = (profilePath: string, bundlePath: string, top = 15): ProfileSummary => {
  const profile = JSON.parse(readFileSync(profilePath, "utf8")) as CpuProfile
  if (!Array.isArray(profile.samples) || profile.samples.length === 0) throw new Error(`${profilePath}: no samples`)
  const moduleAt = moduleLookup(bundlePath)
  const bundleUrl = `file://${bundlePath}`
  const selfMicros = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const byArea = new Map<string, number>()
  const byFunction = new Map<string, { name: string; module: string; micros: number }>()
  let busy = 0
  for (const node of profile.nodes) {
    const micros = selfMicros.get(node.id) ?? 0
    if (micros === 0) continue
    const { functionName, url, lineNumber, columnNumber } = node.callFrame
    if (functionName === "(idle)") continue
    busy += micros
    const module = url === bundleUrl ? moduleAt(lineNumber, columnNumber) : url.replace(/^file:\/\//u, "")
    const area = areaOf(module, functionName)
    byArea.set(area, (byArea.get(area) ?? 0) + micros)
    const name = functionName === "" ? "(anonymous)" : functionName
    const key = `${name} ${module}:${lineNumber}:${columnNumber}`
    const entry = byFunction.get(key) ?? { name, module: `${module}`, micros: 0 }
    entry.micros += micros
    byFunction.set(key, entry)
  }
  const percent = (micros: number) => Math.round((micros / Math.max(1, busy)) * 1000) / 10
  return {
    seconds: (profile.endTime - profile.startTime) / 1e6,
    busySeconds: busy / 1e6,
    areas: [...byArea].sort((x, y) => y[1] - x[1]).map(([area, micros]) => ({ area, percent: percent(micros) })),
    functions: [...byFunction.values()]
      .sort((x, y) => y.micros - x.micros)
      .slice(0, top)
      .map((f) => ({ name: f.name, module: f.module, percent: percent(f.micros) })),
  }
}
