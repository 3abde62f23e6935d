// The Workspaces a benchmark or chaos run converges: five of the repository's samples in turn (basic, external
// database, high availability, kubernetes pool, multiple pools: 4 to 13 children each), renamed `ws-0000`,
// `ws-0001`, … so that a run of N is the same N every time, runs of different days compare, and every figure is about
// realistic objects. A fixed list, not every sample: later samples bring objects of their own (a Secret, a
// PriorityClass) or need APIs the benchmark's cluster does not serve (the Gateway API).
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { validateWorkspace, type Workspace } from "@cartographer/schema"
import { parse } from "yaml"

const samplesDir = fileURLToPath(new URL("../../../samples", import.meta.url))

interface SampleDocument {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string }
  readonly spec: unknown
}

const sampleFiles = [
  "basic-workspace.yaml",
  "external-database-workspace.yaml",
  "high-availability-workspace.yaml",
  "kubernetes-pool-workspace.yaml",
  "multiple-pools-workspace.yaml",
]

const samples = (): ReadonlyArray<SampleDocument> =>
  sampleFiles.map((f) => parse(readFileSync(join(samplesDir, f), "utf8")) as SampleDocument)

/** `ws-0042` for 42 (four digits up to 9,999). */
export const workspaceName = (index: number): string => `ws-${String(index).padStart(4, "0")}`

/** N Workspace documents (as a user writes them) in `namespace`. */
export const benchWorkspaces = (count: number, namespace: string): ReadonlyArray<SampleDocument> => {
  const all = samples()
  return Array.from({ length: count }, (_, i) => {
    const sample = all[i % all.length] as SampleDocument
    return {
      apiVersion: sample.apiVersion,
      kind: sample.kind,
      metadata: { name: workspaceName(i), namespace },
      spec: sample.spec,
    }
  })
}

/** A live Workspace (as the API server returned it) decoded as the engine decodes it. */
export const decodeLive = (live: unknown): Workspace => {
  const result = validateWorkspace(live, { unknownFields: "ignore" })
  if (!result.ok) throw new Error(`a benchmark Workspace does not decode: ${JSON.stringify(result.issues)}`)
  return result.value
}
