/**
 * Validation of Workspace files for CI (`cartographer-validate`): every document of every file, with the document
 * index and line of each problem. Pure over file contents; the CLI in `bin/validate.ts` does the reading.
 */
import { lineOfPath, parseDocuments } from "./documents.js"
import { formatPath, type ValidateOptions, validateWorkspace } from "./validate.js"
import { group, kind } from "./Workspace.js"

export interface DocumentIssue {
  readonly path: string
  readonly message: string
  /** 1-based line in the file, when the path could be located. */
  readonly line?: number
}

export type DocumentReport =
  | { readonly index: number; readonly line: number; readonly status: "valid"; readonly name: string }
  | {
      readonly index: number
      readonly line: number
      readonly status: "invalid"
      readonly name?: string
      readonly issues: ReadonlyArray<DocumentIssue>
    }
  | { readonly index: number; readonly line: number; readonly status: "skipped"; readonly reason: string }

export interface FileReport {
  readonly file: string
  readonly documents: ReadonlyArray<DocumentReport>
}

const describe = (value: unknown): string => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object"
  const v = value as { apiVersion?: unknown; kind?: unknown }
  return `${String(v.apiVersion ?? "?")} ${String(v.kind ?? "?")}`
}

/** A document meant as a Workspace: `kind: Workspace` of our group (any version, so a wrong version is reported). */
const isWorkspaceDocument = (value: unknown): boolean => {
  if (typeof value !== "object" || value === null) return false
  const v = value as { apiVersion?: unknown; kind?: unknown }
  return v.kind === kind && typeof v.apiVersion === "string" && v.apiVersion.startsWith(`${group}/`)
}

/** `spec.workflows.agentPools[0].name` → `["spec", "workflows", "agentPools", 0, "name"]`. */
const pathSegments = (path: string): Array<string | number> =>
  [...path.matchAll(/([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/gu)].map((m) =>
    m[2] !== undefined ? Number(m[2]) : m[3] !== undefined ? (JSON.parse(`"${m[3]}"`) as string) : (m[1] as string),
  )

export const validateText = (file: string, text: string, options?: ValidateOptions): FileReport => ({
  file,
  documents: parseDocuments(text).map((document): DocumentReport => {
    if (document.errors.length > 0) {
      return {
        index: document.index,
        line: document.line,
        status: "invalid",
        issues: document.errors.map((e) => ({ path: "", message: `YAML syntax: ${e.message}`, line: e.line })),
      }
    }
    if (!isWorkspaceDocument(document.value)) {
      return {
        index: document.index,
        line: document.line,
        status: "skipped",
        reason: `not a Workspace (${describe(document.value)})`,
      }
    }
    const result = validateWorkspace(document.value, options)
    const name = (document.value as { metadata?: { name?: unknown } }).metadata?.name
    if (result.ok)
      return { index: document.index, line: document.line, status: "valid", name: result.value.metadata.name }
    return {
      index: document.index,
      line: document.line,
      status: "invalid",
      ...(typeof name === "string" ? { name } : {}),
      issues: result.issues.map((issue) => {
        const line = lineOfPath(text, document.index, pathSegments(issue.path))
        return line === undefined ? issue : { ...issue, line }
      }),
    }
  }),
})

/** One line per problem: `file[:doc]: path: message (line N)`; the document index only for multi-document files. */
export const formatReport = (report: FileReport): Array<string> => {
  const multi = report.documents.length > 1
  return report.documents.flatMap((document) => {
    if (document.status !== "invalid") return []
    const where = multi ? `${report.file}:${document.index}` : report.file
    return document.issues.map(
      (issue) =>
        `${where}: ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}${issue.line === undefined ? "" : ` (line ${issue.line})`}`,
    )
  })
}

export { formatPath }
