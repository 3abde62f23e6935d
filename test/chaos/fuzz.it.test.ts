// Fuzzed Workspace documents through the three places that judge them: `validateWorkspace` (the operator's and CI's
// decoder), the `cartographer-validate` CLI, and the API server with the generated CRD (server-side dry-run create,
// strict field validation). 300 documents in the default run, 10,000 under `npm run chaos`
// (CARTOGRAPHER_CHAOS_SCALE=full; CARTOGRAPHER_FUZZ_COUNT / CARTOGRAPHER_FUZZ_SEED override).
import { sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mapConcurrently, type RawApi, rawApi } from "../bench/support/rawApi.js"
import { type FuzzDocument, fuzzDocuments } from "./fuzz/documents.js"
import { fixedDisagreements, knownDisagreements } from "./fuzz/knownDisagreements.js"
import {
  type CliRun,
  classOf,
  cliAgrees,
  cliVerdicts,
  compare,
  type Disagreement,
  type SchemaVerdict,
  type ServerVerdict,
  schemaRejectionHasPaths,
  schemaVerdict,
  serverRejectionHasPath,
  serverVerdict,
  shrink,
} from "./fuzz/verdicts.js"
import { bySize, intFromEnv } from "./support/scale.js"

const count = bySize({ smoke: 300, full: 10_000 }, intFromEnv("CARTOGRAPHER_FUZZ_COUNT"))
const seed = intFromEnv("CARTOGRAPHER_FUZZ_SEED") ?? 20_251_001
const namespace = useNamespace("fuzz")

interface Judged {
  readonly input: FuzzDocument
  readonly schema: SchemaVerdict
  readonly server: ServerVerdict
  readonly disagreement: Disagreement | undefined
}

interface Finding {
  readonly disagreement: Disagreement
  readonly documents: number
  readonly paths: ReadonlySet<string>
  readonly example: Judged
  readonly reproducer?: unknown
}

let api: RawApi
let judged: ReadonlyArray<Judged> = []
let cli: CliRun
const findings = new Map<string, Finding>()

const describeFinding = (f: Finding) =>
  [
    `[${f.disagreement.kind}] ${f.disagreement.rule}  (${f.documents} documents; at ${[...f.paths].slice(0, 6).join(", ")}${f.paths.size > 6 ? ", …" : ""})`,
    `  e.g. #${f.example.input.id} ${f.example.input.origin}: ${f.example.input.mutations.join("; ") || "(as generated)"}`,
    `  ${f.disagreement.detail}`,
    ...(f.reproducer === undefined ? [] : [`  reproducer: ${JSON.stringify(f.reproducer)}`]),
  ].join("\n")

beforeAll(async () => {
  api = await rawApi(sharedControlPlane().kubeConfig, { maxSockets: 8 })
  const documents = fuzzDocuments(count, seed)
  const cliRun = cliVerdictsFor(documents)
  judged = await mapConcurrently(documents, 8, async (input) => {
    const schema = schemaVerdict(input.document)
    const server = await serverVerdict(api, namespace, input.document)
    return { input, schema, server, disagreement: compare(schema, server) }
  })
  cli = await cliRun
  for (const j of judged) {
    if (j.disagreement === undefined) continue
    const key = classOf(j.disagreement)
    const known = findings.get(key) ?? { disagreement: j.disagreement, documents: 0, paths: new Set(), example: j }
    findings.set(key, {
      ...known,
      documents: known.documents + 1,
      paths: new Set([...known.paths, j.disagreement.path]),
    })
  }
  // One readable reproducer per class: shrink the first example while it stays in the same class.
  for (const [key, finding] of findings) {
    const reproducer = await shrink(finding.example.input.document, async (candidate) => {
      const d = compare(schemaVerdict(candidate), await serverVerdict(api, namespace, candidate))
      return d !== undefined && classOf(d) === key
    })
    findings.set(key, { ...finding, reproducer })
  }
  const origins = Object.groupBy(judged, (j) => j.input.origin)
  const accepted = (js: ReadonlyArray<Judged> | undefined) =>
    (js ?? []).filter((j) => "accepted" in j.server && j.server.accepted).length
  process.stderr.write(
    `[fuzz] ${count} documents (seed ${seed}): ` +
      Object.entries(origins)
        .map(([origin, js]) => `${origin} ${js?.length ?? 0} (${accepted(js)} accepted by the API server)`)
        .join(", ") +
      `; CLI ${cli.seconds.toFixed(1)} s; ${findings.size} disagreement classes\n` +
      [...findings.values()].map(describeFinding).join("\n") +
      "\n",
  )
}, 900_000)

const cliVerdictsFor = (documents: ReadonlyArray<FuzzDocument>) =>
  cliVerdicts(
    documents.map((d) => d.document),
    Math.max(60_000, documents.length * 50),
  )

afterAll(() => api?.close())

describe(`${count} fuzzed Workspace documents`, () => {
  it("validateWorkspace returns a verdict for every document and never throws", () => {
    const crashed = judged.filter((j) => "crashed" in j.schema)
    expect(crashed.map((j) => ({ id: j.input.id, document: j.input.document, crash: j.schema }))).toEqual([])
    expect(judged).toHaveLength(count)
  })

  it("cartographer-validate reports every document, exits 0 or 1, and says what validateWorkspace says, path for path", () => {
    expect(cli.exitCode, cli.stderr).toBeOneOf([0, 1])
    const differing = judged
      .map((j, i) => ({ j, verdict: cli.verdicts[i] }))
      .filter(({ j, verdict }) => verdict === undefined || !cliAgrees(j.schema, verdict))
      .map(({ j, verdict }) => ({ id: j.input.id, document: j.input.document, cli: verdict, schema: j.schema }))
    expect(differing.slice(0, 3)).toEqual([])
  })

  it("the API server answers every document with a verdict (no 5xx, no timeout)", () => {
    const crashed = judged.filter((j) => "crashed" in j.server)
    expect(crashed.map((j) => ({ id: j.input.id, document: j.input.document, server: j.server }))).toEqual([])
  })

  it("every rejection names the path of the problem, on both sides", () => {
    const schemaWithoutPath = judged.filter(
      (j) => "ok" in j.schema && !j.schema.ok && !schemaRejectionHasPaths(j.schema.issues),
    )
    const serverWithoutPath = judged.filter(
      (j) => "accepted" in j.server && !j.server.accepted && !serverRejectionHasPath(j.server),
    )
    expect(schemaWithoutPath.slice(0, 3).map((j) => ({ id: j.input.id, schema: j.schema }))).toEqual([])
    expect(serverWithoutPath.slice(0, 3).map((j) => ({ id: j.input.id, server: j.server }))).toEqual([])
  })

  it("finds both valid and invalid documents (the fuzzer is not stuck on one side)", () => {
    const valid = judged.filter((j) => "ok" in j.schema && j.schema.ok).length
    expect(valid).toBeGreaterThan(count / 10)
    expect(count - valid).toBeGreaterThan(count / 10)
  })

  it("the Schema and the CRD accept the same documents and decode them to the same Workspace, but for the known classes", () => {
    const unexpected = [...findings.values()].filter(
      (f) => !knownDisagreements.some((k) => k.match.test(classOf(f.disagreement))),
    )
    expect(unexpected.map(describeFinding).join("\n\n")).toBe("")
  })
})

// Each known disagreement, on its minimal reproducer. Bugs are marked `fails` while they stand: the day one is
// fixed its test fails, and the entry leaves knownDisagreements.ts.
describe("known disagreements between the Schema and the CRD", () => {
  const agree = async (document: Parameters<typeof schemaVerdict>[0]) => {
    const disagreement = compare(schemaVerdict(document), await serverVerdict(api, namespace, document as never))
    return disagreement === undefined ? "agree" : `${classOf(disagreement)} (${disagreement.detail})`
  }
  for (const known of knownDisagreements) {
    if (known.status === "bug") {
      it.fails(`${known.behaviour} [bug: ${known.why}]`, async () => {
        expect(await agree(known.reproducer)).toBe("agree")
      })
    } else {
      it(`${known.behaviour} [intended: ${known.why}]`, async () => {
        const disagreement = compare(
          schemaVerdict(known.reproducer),
          await serverVerdict(api, namespace, known.reproducer),
        )
        expect(disagreement && known.match.test(classOf(disagreement))).toBe(true)
      })
    }
  }
})

describe("fixed disagreements between the Schema and the CRD", () => {
  for (const fixed of fixedDisagreements) {
    it(fixed.behaviour, async () => {
      const schema = schemaVerdict(fixed.reproducer)
      const server = await serverVerdict(api, namespace, fixed.reproducer as never)
      if (fixed.both === "accept") {
        expect("ok" in schema && schema.ok, JSON.stringify(schema)).toBe(true)
        expect("accepted" in server && server.accepted, JSON.stringify(server)).toBe(true)
        expect(compare(schema, server), "decoded alike").toBeUndefined()
        return
      }
      expect("ok" in schema && !schema.ok && schemaRejectionHasPaths(schema.issues), JSON.stringify(schema)).toBe(true)
      expect("accepted" in server && !server.accepted && serverRejectionHasPath(server), JSON.stringify(server)).toBe(
        true,
      )
    })
  }
})
