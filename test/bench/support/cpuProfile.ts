// Where the operator's CPU time goes, from a V8 `.cpuprofile` (`node --cpu-prof`) of the bundled process: self time
// per function and per area (effect, undici, client-node, our packages, Node internals, GC). The bundle is one
// file, so functions are mapped back to their source module through the `// path/to/module` comment esbuild writes
// at the start of every module.
import { readFileSync } from "node:fs"

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

/** Module boundaries of an esbuild bundle: [first line (0-based), module path], sorted. */
const moduleMap = (bundle: string): ReadonlyArray<readonly [number, string]> => {
  const out: Array<readonly [number, string]> = []
  bundle.split("\n").forEach((line, index) => {
    const m = /^\/\/ ((?:node_modules|packages|test|apps)\/\S+\.(?:m?[jt]s|cjs|json))$/u.exec(line)
    if (m) out.push([index, m[1] as string])
  })
  return out
}

const moduleAt = (map: ReadonlyArray<readonly [number, string]>, line: number): string => {
  let lo = 0
  let hi = map.length - 1
  let found = "(bundle prologue)"
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const entry = map[mid] as readonly [number, string]
    if (entry[0] <= line) {
      found = entry[1]
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
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
  const map = moduleMap(readFileSync(bundlePath, "utf8"))
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
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === "(idle)") continue
    busy += micros
    const module = url === bundleUrl ? moduleAt(map, lineNumber) : url.replace(/^file:\/\//u, "")
    const area = areaOf(module, functionName)
    byArea.set(area, (byArea.get(area) ?? 0) + micros)
    const name = functionName === "" ? "(anonymous)" : functionName
    const key = `${name} ${module}:${lineNumber}`
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
