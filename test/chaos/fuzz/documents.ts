// Fuzzed Workspace documents: valid ones (`@cartographer/schema/testing`), mutations of valid ones (1–3 edits aimed at
// the places where a TypeScript decoder and a Go/OpenAPI/CEL validator can disagree: regex flavours, integer
// ranges, nulls, unicode, quantities, duplicates, unknown fields) and schema-shaped random ones. Deterministic for a
// seed, JSON-representable (they travel as JSON to the API server), always `kind: Workspace` of our group so that
// both validators judge the Workspace rules rather than the envelope.

import { workspaceDocument } from "@cartographer/schema/testing"
import fc from "fast-check"

export type Json = null | boolean | number | string | Array<Json> | { [key: string]: Json }
type Path = ReadonlyArray<string | number>

export type FuzzOrigin = "valid" | "mutated" | "random"

export interface FuzzDocument {
  readonly id: number
  readonly origin: FuzzOrigin
  /** What was done to the valid document it came from, e.g. `replace spec.workflows.image = "a\u000bb"`. */
  readonly mutations: ReadonlyArray<string>
  readonly document: { [key: string]: Json }
}

const envelope = { apiVersion: "mlops.aigency.com/v1alpha1", kind: "Workspace" } as const

/** Strings where JS and Go regexes, length rules, quantity parsers or DNS rules tend to differ. */
const interestingStrings: ReadonlyArray<string> = [
  "",
  " ",
  "a b",
  "a\tb",
  "a\u000bb", // vertical tab: \s in JavaScript, not in RE2
  "a\u00a0b", // no-break space: \s in JavaScript (unicode), not in RE2
  "a\u2028b",
  "\ufeffa",
  "é",
  "💥",
  "a\ud800", // lone surrogate: not valid UTF-8
  "a\u0085b", // NEL: whitespace to neither regex flavour (a control for the two above)
  "A",
  "Ab",
  "-a",
  "a-",
  "a.b",
  "a_b",
  "0a",
  "a\n",
  "x".repeat(37),
  "x".repeat(38),
  "x".repeat(55),
  "x".repeat(63),
  "x".repeat(64),
  "x".repeat(253),
  "x".repeat(254),
  "null",
  "true",
  "1",
  "-1",
  "+1",
  "0",
  "0.0",
  "1e-400",
  "1e400",
  "1e100",
  "1e18",
  "1E3",
  "0.0000000001",
  "1n",
  "1u",
  ".5",
  "5.",
  "1Ki",
  "1k",
  "1K",
  "1Mi ",
  "1.5Gi",
  "0x10",
  "16Gi",
  "DEBUG",
  "debug",
  "Always",
  "process",
  "kubernetes",
  "default",
]

const interestingNumbers: ReadonlyArray<number> = [
  -1,
  0,
  1,
  2,
  1.5,
  37,
  38,
  50,
  51,
  63,
  64,
  1000,
  1001,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  1e21,
  -(2 ** 53),
  1e308,
  1e-7,
]

const interestingValues: ReadonlyArray<Json> = [
  ...interestingStrings,
  ...interestingNumbers,
  true,
  false,
  null,
  {},
  [],
  [{}],
  { name: "x" },
  [""],
]

const jsonValue = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>
const someValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...interestingValues) },
  { weight: 1, arbitrary: jsonValue },
)
const someString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...interestingStrings) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
)
const unknownKey = fc.oneof(
  fc.constantFrom("imagee", "Image", "replica", "extra", "agentPool", "name ", "apiVersion", "x-kubernetes"),
  fc.string({ minLength: 1, maxLength: 8 }),
)

const ops = ["delete", "replace", "null", "retype", "unknown", "duplicate", "string", "number", "quantity"] as const
type Op = (typeof ops)[number]

interface Mutation {
  readonly op: Op
  /** Which of the candidate places (modulo their number). */
  readonly at: number
  readonly value: Json
  readonly text: string
  readonly number: number
  readonly key: string
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom(...ops),
  at: fc.nat(),
  value: someValue,
  text: someString,
  number: fc.constantFrom(...interestingNumbers),
  key: unknownKey,
})

const clone = <A>(value: A): A => structuredClone(value)

/** Every node under `spec`, and `metadata.name`, with its path. */
const nodes = (document: Json): Array<{ path: Path; value: Json }> => {
  const out: Array<{ path: Path; value: Json }> = []
  const walk = (value: Json, path: Path) => {
    out.push({ path, value })
    if (Array.isArray(value)) for (const [i, v] of value.entries()) walk(v, [...path, i])
    else if (value !== null && typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k])
  }
  const root = document as { spec?: Json; metadata?: { name?: Json } }
  if (root.spec !== undefined) walk(root.spec, ["spec"])
  if (root.metadata?.name !== undefined) out.push({ path: ["metadata", "name"], value: root.metadata.name })
  return out
}

const parentOf = (document: Json, path: Path): Json | undefined =>
  path.slice(0, -1).reduce<Json | undefined>((node, key) => {
    if (node === null || typeof node !== "object") return undefined
    return (node as Record<string | number, Json>)[key]
  }, document)

const set = (document: Json, path: Path, value: Json | undefined): void => {
  const parent = parentOf(document, path)
  const key = path[path.length - 1]
  if (parent === null || typeof parent !== "object" || key === undefined) return
  if (Array.isArray(parent) && typeof key === "number") {
    if (value === undefined) parent.splice(key, 1)
    else parent[key] = value
  } else if (value === undefined) delete (parent as Record<string, Json>)[key]
  else (parent as Record<string, Json>)[key] = value
}

/** `spec.workflows.agentPools[0].name`, as both validators print paths. */
export const pathText = (path: Path): string =>
  path.reduce<string>((out, k) => (typeof k === "number" ? `${out}[${k}]` : out === "" ? k : `${out}.${k}`), "")

const show = (value: Json): string => {
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const retyped = (value: Json): Json => {
  if (typeof value === "string") return Number.isNaN(Number(value)) ? [value] : Number(value)
  if (typeof value === "number") return String(value)
  if (typeof value === "boolean") return String(value)
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), v]))
  if (value !== null && typeof value === "object") return [value]
  return "null"
}

const isQuantityPlace = (path: Path): boolean => {
  const parent = path[path.length - 2]
  return path[path.length - 1] === "storageQuota" || parent === "requests" || parent === "limits"
}

/** Applies one mutation in place; returns its description (or undefined when it found no place to act). */
const applyMutation = (document: Json, m: Mutation): string | undefined => {
  const all = nodes(document)
  const pick = <A>(candidates: ReadonlyArray<A>): A | undefined =>
    candidates.length === 0 ? undefined : candidates[m.at % candidates.length]
  const below = all.filter((n) => n.path.length > 1)
  switch (m.op) {
    case "delete": {
      const n = pick(below)
      if (n === undefined) return undefined
      set(document, n.path, undefined)
      return `delete ${pathText(n.path)}`
    }
    case "replace": {
      const n = pick(below)
      if (n === undefined) return undefined
      set(document, n.path, m.value)
      return `replace ${pathText(n.path)} = ${show(m.value)}`
    }
    case "null": {
      const n = pick(below)
      if (n === undefined) return undefined
      set(document, n.path, null)
      return `replace ${pathText(n.path)} = null`
    }
    case "retype": {
      const n = pick(below)
      if (n === undefined) return undefined
      const value = retyped(n.value)
      set(document, n.path, value)
      return `replace ${pathText(n.path)} = ${show(value)}`
    }
    case "unknown": {
      const n = pick(all.filter((x) => x.path[0] === "spec" && x.value !== null && typeof x.value === "object"))
      if (n === undefined || Array.isArray(n.value)) return undefined
      ;(n.value as Record<string, Json>)[m.key] = m.value
      return `add ${pathText(n.path)}[${JSON.stringify(m.key)}] = ${show(m.value)}`
    }
    case "duplicate": {
      const n = pick(all.filter((x) => Array.isArray(x.value) && x.value.length > 0))
      if (n === undefined) return undefined
      const list = n.value as Array<Json>
      list.push(clone(list[m.at % list.length] as Json))
      return `duplicate an item of ${pathText(n.path)}`
    }
    case "string": {
      const n = pick(all.filter((x) => typeof x.value === "string"))
      if (n === undefined) return undefined
      set(document, n.path, m.text)
      return `replace ${pathText(n.path)} = ${show(m.text)}`
    }
    case "number": {
      const n = pick(all.filter((x) => typeof x.value === "number"))
      if (n === undefined) return undefined
      set(document, n.path, m.number)
      return `replace ${pathText(n.path)} = ${show(m.number)}`
    }
    case "quantity": {
      const places = all.filter((x) => isQuantityPlace(x.path))
      const path = pick(places)?.path ?? ["spec", "workflows", "storageQuota"]
      const value = m.at % 2 === 0 ? m.text : m.number
      set(document, path, value)
      return `replace ${pathText(path)} = ${show(value)}`
    }
  }
}

/** Valid documents, with metadata reduced to the name (the namespace comes from the request). */
const valid = workspaceDocument().map((raw): { [key: string]: Json } => ({
  ...envelope,
  metadata: { name: raw.metadata.name },
  // As JSON, which is how it travels.
  spec: JSON.parse(JSON.stringify(raw.spec)) as Json,
}))

const mutated = fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([document, ms]) => {
  const copy = clone(document)
  const mutations = ms.map((m) => applyMutation(copy, m)).filter((d) => d !== undefined)
  return { document: copy, mutations }
})

const workflowKeys = [
  "image",
  "imagePullPolicy",
  "imagePullSecrets",
  "controllerReplicas",
  "databaseReplicas",
  "storageQuota",
  "storageClassName",
  "agentPools",
  "server",
  "database",
  "redis",
  "networkPolicy",
  "migration",
  "nodeSelector",
  "tolerations",
  "affinity",
  "topologySpreadConstraints",
  "priorityClassName",
  "podLabels",
  "podAnnotations",
]
const poolKeys = [
  "name",
  "image",
  "replicas",
  "type",
  "concurrencyLimit",
  "workQueues",
  "jobNamespace",
  "resources",
  "envFrom",
  "volumes",
  "volumeMounts",
  "serviceAccount",
  "tolerations",
  "podLabels",
  "podDisruptionBudget",
  "jobTemplate",
]

/** Random values in roughly the right shape: known keys with random values, plus random keys. */
const randomPool = fc.dictionary(fc.oneof(fc.constantFrom(...poolKeys), unknownKey), someValue, { maxKeys: 5 })
const randomWorkflows = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...workflowKeys), someValue, { maxKeys: 6 }),
    fc.array(randomPool, { maxLength: 3 }),
    fc.boolean(),
  )
  .map(([fields, pools, withPools]) => (withPools ? { ...fields, agentPools: pools } : fields) as Json)
const randomDocument = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom("ws", "random-ws", "a") as fc.Arbitrary<Json> },
      { weight: 1, arbitrary: someString as fc.Arbitrary<Json> },
    ),
    fc.oneof(
      { weight: 4, arbitrary: randomWorkflows.map((workflows) => ({ workflows }) as Json) },
      { weight: 1, arbitrary: jsonValue },
    ),
  )
  .map(([name, spec]) => ({ ...envelope, metadata: { name }, spec }) as { [key: string]: Json })

const arbitraryFuzzDocument: fc.Arbitrary<Omit<FuzzDocument, "id">> = fc.oneof(
  { weight: 2, arbitrary: valid.map((document) => ({ origin: "valid" as const, mutations: [], document })) },
  { weight: 6, arbitrary: mutated.map((m) => ({ origin: "mutated" as const, ...m })) },
  {
    weight: 2,
    arbitrary: randomDocument.map((document) => ({ origin: "random" as const, mutations: [], document })),
  },
)

/** `count` fuzzed documents, the same ones for the same seed. */
export const fuzzDocuments = (count: number, seed: number): ReadonlyArray<FuzzDocument> =>
  fc.sample(arbitraryFuzzDocument, { numRuns: count, seed }).map((d, id) => ({ id, ...d }))
