// The three judges of a fuzzed document — `validateWorkspace`, the `cartographer-validate` CLI and the API server
// with the generated CRD (server-side dry-run create, strict field validation as `kubectl apply` sends it) — and
// how their verdicts are compared: a disagreement is reduced to a class (which side accepted, which path, which
// rule), so that 10,000 documents report a handful of findings instead of thousands of lines.

import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { isDeepStrictEqual } from "node:util"
import { type ValidationIssue, validateWorkspace, type Workspace } from "@cartographer/schema"
import { stringify } from "yaml"
import type { RawApi } from "../../bench/support/rawApi.js"
import { run } from "../../harness/processes.js"
import type { Json } from "./documents.js"

export type SchemaVerdict =
  | { readonly ok: true; readonly value: Workspace }
  | { readonly ok: false; readonly issues: ReadonlyArray<ValidationIssue> }
  | { readonly crashed: string }

/** In-process, exactly as CI scripts and the operator call it (unknown fields are errors, as with kubectl). */
export const schemaVerdict = (document: unknown): SchemaVerdict => {
  try {
    return validateWorkspace(document)
  } catch (error) {
    return { crashed: error instanceof Error ? (error.stack ?? error.message) : String(error) }
  }
}

export interface ServerCause {
  readonly field?: string
  readonly reason?: string
  readonly message?: string
}

export type ServerVerdict =
  | { readonly accepted: true; readonly object: { readonly spec?: unknown; readonly metadata?: unknown } }
  | {
      readonly accepted: false
      readonly code: number
      readonly reason: string
      readonly message: string
      readonly causes: ReadonlyArray<ServerCause>
    }
  | { readonly crashed: string }

const workspaces = (namespace: string) => `/apis/mlops.aigency.com/v1alpha1/namespaces/${namespace}/workspaces`

/** `POST ?dryRun=All&fieldValidation=Strict`: validated, defaulted, admitted, not stored. 5xx and no answer are crashes. */
export const serverVerdict = async (api: RawApi, namespace: string, document: Json): Promise<ServerVerdict> => {
  let response: { status: number; body: string }
  try {
    response = await api.send({
      method: "POST",
      path: workspaces(namespace),
      query: { dryRun: "All", fieldValidation: "Strict" },
      body: document,
    })
  } catch (error) {
    return { crashed: error instanceof Error ? error.message : String(error) }
  }
  let body: Record<string, unknown>
  try {
    body = JSON.parse(response.body) as Record<string, unknown>
  } catch {
    return { crashed: `HTTP ${response.status}, body is not JSON: ${response.body.slice(0, 300)}` }
  }
  if (response.status === 201 || response.status === 200) return { accepted: true, object: body }
  if (response.status >= 500) return { crashed: `HTTP ${response.status}: ${String(body.message)}` }
  const details = body.details as { causes?: ReadonlyArray<ServerCause> } | undefined
  return {
    accepted: false,
    code: response.status,
    reason: String(body.reason ?? ""),
    message: String(body.message ?? ""),
    causes: details?.causes ?? [],
  }
}

export type CliVerdict =
  | { readonly status: "valid" }
  | { readonly status: "invalid"; readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }> }
  | { readonly status: "missing" }

export interface CliRun {
  readonly exitCode: number | string
  readonly stderr: string
  readonly verdicts: ReadonlyArray<CliVerdict>
  readonly seconds: number
}

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url))
// The CLI runs from its TypeScript sources (Node 24 strips the types; the hook maps `./x.js` imports to `./x.ts`),
// so that the fuzzer always judges the code in the tree, not a stale build.
const cliSource = join(repoRoot, "packages/schema/src/bin/validate.ts")
const tsImportHook = join(repoRoot, "packages/reconciler/bench/register.mjs")

/**
 * Writes each document to its own YAML file and validates the directory with ONE `cartographer-validate --output
 * json` process (starting 10,000 processes would measure Node's start-up, not the validator). A crash is an exit
 * code other than 0/1, a signal, output that is not the JSON report, or no exit within `timeoutMs`.
 */
export const cliVerdicts = async (documents: ReadonlyArray<Json>, timeoutMs: number): Promise<CliRun> => {
  const dir = await mkdtemp(join(tmpdir(), "cartographer-fuzz-"))
  const started = performance.now()
  try {
    const width = String(documents.length).length
    const files = documents.map((_, i) => join(dir, `${String(i).padStart(width, "0")}.yaml`))
    await Promise.all(documents.map((d, i) => writeFile(files[i] as string, stringify(d))))
    const args = ["--conditions=@cartographer/source", "--import", tsImportHook, cliSource, "--output", "json", dir]
    const { code: exitCode, stdout, stderr: output } = await run(process.execPath, args, { timeoutMs })
    let stderr = output
    let verdicts: Array<CliVerdict> = documents.map(() => ({ status: "missing" }))
    try {
      const report = JSON.parse(stdout) as {
        files: ReadonlyArray<{
          file: string
          documents: ReadonlyArray<{ status: string; issues?: ReadonlyArray<{ path: string; message: string }> }>
        }>
      }
      const byFile = new Map(report.files.map((f) => [f.file, f.documents]))
      verdicts = files.map((file): CliVerdict => {
        const reported = byFile.get(file)
        const only = reported?.length === 1 ? reported[0] : undefined
        if (only?.status === "valid") return { status: "valid" }
        if (only?.status === "invalid") return { status: "invalid", issues: only.issues ?? [] }
        return { status: "missing" }
      })
    } catch {
      stderr += `\n(stdout was not the JSON report: ${stdout.slice(0, 300)})`
    }
    return { exitCode, stderr, verdicts, seconds: (performance.now() - started) / 1000 }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

// ---- comparison ---------------------------------------------------------------------------------------------------

/** `spec.workflows.agentPools[3].env[0].name` → `spec.workflows.agentPools[].env[].name`. */
const generic = (path: string): string => path.replace(/\[\d+\]/gu, "[]").replace(/\["[^"]*"\]/gu, "[*]")

/** Messages without the offending value, so that one rule is one class. */
const ruleOf = (message: string): string =>
  message
    .replace(/Invalid value: (".*?"|[^:]+): /u, "Invalid value: …: ")
    .replace(/^Expected .*, got null$/u, "Expected …, got null")
    .replace(/\bgot -?[0-9][0-9.e+-]*/gu, "got <number>")
    .replace(/\b(spec|metadata)(\.[\w-]+|\[\d+\])+/gu, "<path>")
    .replace(/"(?:[^"\\]|\\.)*"/gu, "…")
    .replace(/\[\d+\]/gu, "[]")
    .slice(0, 160)

const serverPaths = (verdict: Extract<ServerVerdict, { accepted: false }>): ReadonlyArray<string> => {
  const fields = verdict.causes.map((c) => c.field ?? "").filter((f) => f !== "")
  if (fields.length > 0) return fields
  // Strict field validation answers 400 with the path only in the message: `unknown field "spec.workflows.x"`.
  return [...verdict.message.matchAll(/"((?:spec|metadata)(?:[.[][^"]*)?)"/gu)].map((m) => m[1] as string)
}

/** Whether a rejection tells the user where: every Schema issue has a path, the server names a field. */
export const schemaRejectionHasPaths = (issues: ReadonlyArray<ValidationIssue>): boolean =>
  issues.length > 0 && issues.every((i) => i.path !== "")
export const serverRejectionHasPath = (verdict: Extract<ServerVerdict, { accepted: false }>): boolean =>
  serverPaths(verdict).length > 0 ||
  /\b(spec|metadata)\.[A-Za-z]/u.test(verdict.message) ||
  // Metadata that is not even the right JSON type fails Go decoding, which names the struct field.
  /Go struct field \w+\.\w+/u.test(verdict.message)

/**
 * Where the two validators part: which side accepted, the rule that decided (the message without the offending value,
 * so that one rule is one class) and the path it was found at (indices elided).
 */
export interface Disagreement {
  readonly kind: "schema-accepts-server-rejects" | "server-accepts-schema-rejects" | "decoded-differently"
  readonly rule: string
  readonly path: string
  readonly detail: string
}

const hasLoneSurrogate = (value: unknown): boolean =>
  typeof value === "string"
    ? !value.isWellFormed()
    : typeof value === "object" && value !== null && Object.values(value).some(hasLoneSurrogate)

/** The first path where two JSON-like values differ. */
const firstDifference = (a: unknown, b: unknown, path = ""): string | undefined => {
  if (isDeepStrictEqual(a, b)) return undefined
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    for (const key of keys) {
      const sub = /^\d+$/u.test(key) && Array.isArray(a) ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`
      const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], sub)
      if (found !== undefined) return found
    }
  }
  return `${path}: ${JSON.stringify(a)?.slice(0, 80)} vs ${JSON.stringify(b)?.slice(0, 80)}`
}

/**
 * Compares the Schema's verdict on the input with the API server's. When both accept, the object the server
 * returns (pruned and defaulted by the CRD) must decode through the Schema to the same spec as the input does.
 */
/** The class a disagreement belongs to: one finding per class. */
export const classOf = (d: Disagreement): string => `${d.kind}: ${d.rule}`

export const compare = (schema: SchemaVerdict, server: ServerVerdict): Disagreement | undefined => {
  if ("crashed" in schema || "crashed" in server) return undefined
  if (schema.ok && !server.accepted) {
    const paths = serverPaths(server)
    const cause = server.causes[0]
    const rule = cause?.message ?? server.message
    return {
      kind: "schema-accepts-server-rejects",
      rule: `${cause?.reason ?? server.reason}: ${ruleOf(rule)}`,
      path: paths.map(generic).join(", ") || "(no field)",
      detail: server.message.slice(0, 400),
    }
  }
  if (!schema.ok && server.accepted) {
    const issue = schema.issues[0] as ValidationIssue
    return {
      kind: "server-accepts-schema-rejects",
      rule: ruleOf(issue.message),
      path: generic(issue.path),
      detail: schema.issues.map((i) => `${i.path}: ${i.message}`).join("; "),
    }
  }
  if (schema.ok && server.accepted) {
    const decoded = validateWorkspace(server.object, { unknownFields: "ignore" })
    if (!decoded.ok) {
      const issue = decoded.issues[0] as ValidationIssue
      return {
        kind: "decoded-differently",
        rule: `the server's object fails the Schema: ${ruleOf(issue.message)}`,
        path: generic(issue.path),
        detail: decoded.issues.map((i) => `${i.path}: ${i.message}`).join("; "),
      }
    }
    const difference = firstDifference(schema.value.spec, decoded.value.spec, "spec")
    if (difference !== undefined) {
      // Objects are stored as UTF-8: a lone surrogate (only sendable as a JSON escape) comes back as U+FFFD.
      const surrogate = hasLoneSurrogate(schema.value.spec) && difference.includes("\ufffd")
      return {
        kind: "decoded-differently",
        rule: surrogate ? "a lone surrogate came back as U+FFFD" : "the decoded specs differ",
        path: generic(difference.split(":")[0] ?? difference),
        detail: difference,
      }
    }
  }
  return undefined
}

/** The CLI must say what `validateWorkspace` says about the same document, with the same paths. */
export const cliAgrees = (schema: SchemaVerdict, cli: CliVerdict): boolean => {
  if ("crashed" in schema) return false
  if (schema.ok) return cli.status === "valid"
  if (cli.status !== "invalid") return false
  return isDeepStrictEqual(
    cli.issues.map((i) => i.path),
    schema.issues.map((i) => i.path),
  )
}

// ---- minimal reproducers ------------------------------------------------------------------------------------------

const removals = (document: Json): Array<(d: Json) => void> => {
  const out: Array<(d: Json) => void> = []
  const walk = (value: Json, path: ReadonlyArray<string | number>) => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, [...path, i])
      for (let i = value.length - 1; i >= 0; i--) out.push((d) => removeAt(d, [...path, i]))
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k])
      for (const k of Object.keys(value)) out.push((d) => removeAt(d, [...path, k]))
    }
  }
  walk((document as { spec?: Json }).spec ?? null, ["spec"])
  return out
}

const removeAt = (document: Json, path: ReadonlyArray<string | number>) => {
  let node: Json | undefined = document
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, Json> | null)?.[key]
  const last = path[path.length - 1]
  if (Array.isArray(node) && typeof last === "number") node.splice(last, 1)
  else if (node !== null && typeof node === "object" && last !== undefined) delete (node as Record<string, Json>)[last]
}

/**
 * Greedy shrinking: drop subtrees of the spec (deepest first) and shorten the name while `stillFails` holds, within
 * `budget` checks. Good enough to turn a generated document into a reproducer a human can read.
 */
export const shrink = async (
  document: Json,
  stillFails: (candidate: Json) => Promise<boolean>,
  budget = 150,
): Promise<Json> => {
  let best = structuredClone(document)
  let checks = 0
  const attempt = async (edit: (d: Json) => void): Promise<boolean> => {
    if (checks++ >= budget) return false
    const candidate = structuredClone(best)
    edit(candidate)
    if (isDeepStrictEqual(candidate, best) || !(await stillFails(candidate))) return false
    best = candidate
    return true
  }
  await attempt((d) => {
    const metadata = (d as { metadata?: { name?: Json } }).metadata
    if (metadata !== undefined && typeof metadata.name === "string" && metadata.name.length > 2) metadata.name = "ws"
  })
  for (let progress = true; progress && checks < budget; ) {
    progress = false
    for (const edit of removals(best).reverse()) {
      if (await attempt(edit)) {
        progress = true
        break
      }
    }
  }
  return best
}
