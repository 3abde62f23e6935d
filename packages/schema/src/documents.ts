/**
 * Multi-document YAML (and JSON) files: each document parsed with the `yaml` library, with its index and line,
 * so that a validation error can say `file:doc` and where. Syntax errors are data, never exceptions.
 */
import { LineCounter, parseAllDocuments } from "yaml"

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
