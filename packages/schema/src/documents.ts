/**
 * Multi-document YAML (and JSON) files: each document parsed with the `yaml` library, with its index and line,
 * so that a validation error can say `file:doc` and where (syntax errors are data, never exceptions); and Kubernetes
 * manifests written as YAML that any Kubernetes tool reads back unchanged (what `cartographer plan` prints).
 */
import { LineCounter, parseAllDocuments, stringify } from "yaml"

export interface SourceDocument {
  /** 0-based position of the document in the file. */
  readonly index: number
  /** 1-based line where the document starts. */
  readonly line: number
  /** The parsed value (`null` for an empty document). */
  readonly value: unknown
  /** Syntax errors of this document, with their line; `value` is unusable when any. */
  readonly errors: ReadonlyArray<{ readonly line: number; readonly message: string }>
}

/** Parses every document of a YAML stream (JSON is YAML); empty documents (a trailing `---`) are dropped. */
export const parseDocuments = (text: string): ReadonlyArray<SourceDocument> => {
  const lineCounter = new LineCounter()
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line
  return parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
    .map((document, index) => {
      const errors = document.errors.map((error) => ({
        line: lineOf(error.pos[0]),
        message: error.message.split("\n")[0] ?? error.message,
      }))
      const start = document.contents?.range[0] ?? document.range[0]
      return {
        index,
        line: lineOf(start),
        value: errors.length > 0 ? undefined : document.toJS({ maxAliasCount: 100 }),
        errors,
        empty: errors.length === 0 && (document.contents === null || document.toJS() == null),
      }
    })
    .filter((document) => !document.empty)
    .map(({ empty: _, ...document }) => document)
}

/** The line of a path (`["spec", "workflows", "agentPools", 0]`) inside a document's text, when it can be found. */
export const lineOfPath = (
  text: string,
  documentIndex: number,
  path: ReadonlyArray<PropertyKey>,
): number | undefined => {
  const lineCounter = new LineCounter()
  const document = parseAllDocuments(text, { lineCounter }).filter((d) => d.contents !== null || d.errors.length > 0)[
    documentIndex
  ]
  if (document === undefined) return undefined
  // Walk up the path until a node exists (a missing key is reported at its parent).
  for (let depth = path.length; depth >= 0; depth--) {
    const node = document.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined
    if (node?.range !== undefined) return lineCounter.linePos(node.range[0]).line
    // For a key of a map, `getIn` returns the value node; scalars have ranges too, so this is enough.
  }
  return undefined
}

/**
 * A manifest as YAML: kubectl's parser follows YAML 1.1, where a plain `no`, `on` or `y` is a boolean (a pool named
 * `no` would turn `--pool no` into `false`), so the YAML 1.1 rules are used, every string value is quoted, and shared
 * objects are written out instead of as anchors.
 */
export const toYaml = (value: unknown, options: { readonly sortKeys?: boolean } = {}): string =>
  stringify(value, {
    version: "1.1",
    aliasDuplicateObjects: false,
    lineWidth: 0,
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "PLAIN",
    // Sorted keys, for two objects compared line by line (`cartographer diff`).
    sortMapEntries: options.sortKeys === true,
  })

/** A multi-document stream; each document may be preceded by `#` comment lines. */
export const toYamlStream = (
  documents: ReadonlyArray<{ readonly comment?: string; readonly value: unknown }>,
): string =>
  documents
    .map(({ comment, value }) => {
      const header =
        comment === undefined
          ? ""
          : comment
              .split("\n")
              .map((line) => (line === "" ? "#\n" : `# ${line}\n`))
              .join("")
      return `---\n${header}${value === undefined ? "" : toYaml(value)}`
    })
    .join("")
