/**
 * The input of `cartographer plan` and `cartographer diff`: the Workspaces of a manifest file (or standard input),
 * with the `-f` and `-n` options that name them. Documents of other kinds are skipped with a notice; every syntax
 * error and validation issue is reported as `file:line: path: message`.
 */
import { parseDocuments, validateWorkspace, type Workspace } from "@cartographer/schema"
import { Result, Schema } from "effect"
import { type Environment, type Options, parse as parseOptions, Text } from "./Options.js"

export interface InputIo {
  readonly readFile: (path: string) => Promise<string>
  readonly readStdin: () => Promise<string>
  readonly write: (text: string) => void
  readonly error: (text: string) => void
}

export interface FileOptions {
  readonly filename: string | undefined
  readonly namespace: string | undefined
}

/** `-f` and `-n`, as both commands take them. */
export const fileOptions: Options<FileOptions> = {
  filename: {
    flag: "filename",
    short: "f",
    metavar: "file|-",
    schema: Schema.String,
    default: undefined,
    doc: "Workspace manifest (YAML or JSON; - for standard input). Other kinds are skipped.",
  },
  namespace: {
    flag: "namespace",
    short: "n",
    metavar: "ns",
    schema: Text.namespace,
    default: undefined,
    defaultText: `the Workspace's, else "default"`,
    doc: "namespace of the Workspaces and of their objects",
  },
}

/** One Workspace of the file, in the namespace it is meant for. */
export interface FileWorkspace {
  /** The document as written, with the namespace set. */
  readonly document: Record<string, unknown>
  /** The document decoded (defaults applied), with the namespace set. */
  readonly workspace: Workspace
  /** `file:line` of the document, for messages. */
  readonly where: string
}

export interface WorkspaceFile {
  /** The file as messages name it (`<stdin>` for `-`). */
  readonly label: string
  readonly workspaces: ReadonlyArray<FileWorkspace>
  /** Documents skipped because they are not Workspaces. */
  readonly notices: ReadonlyArray<string>
  /** Syntax errors and validation issues: these documents are not in `workspaces`. */
  readonly errors: ReadonlyArray<string>
  /** `file: no mlops.aigency.com Workspace found` when there is no Workspace and no error either. */
  readonly empty: string | undefined
}

const isWorkspaceDocument = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" &&
  value !== null &&
  (value as { kind?: unknown }).kind === "Workspace" &&
  typeof (value as { apiVersion?: unknown }).apiVersion === "string" &&
  (value as { apiVersion: string }).apiVersion.startsWith("mlops.aigency.com/")

/** The Workspaces of a manifest's text; `label` names it in messages. */
export const workspacesOf = (text: string, label: string, namespace: string | undefined): WorkspaceFile => {
  const workspaces: Array<FileWorkspace> = []
  const notices: Array<string> = []
  const errors: Array<string> = []
  for (const document of parseDocuments(text)) {
    const where = `${label}:${document.line}`
    if (document.errors.length > 0) {
      errors.push(...document.errors.map((e) => `${label}:${e.line}: ${e.message}`))
      continue
    }
    if (!isWorkspaceDocument(document.value)) {
      notices.push(`${where}: skipped, not a mlops.aigency.com Workspace`)
      continue
    }
    const result = validateWorkspace(document.value)
    if (!result.ok) {
      errors.push(...result.issues.map((i) => `${where}: ${i.path === "" ? "" : `${i.path}: `}${i.message}`))
      continue
    }
    const target = namespace ?? result.value.metadata.namespace ?? "default"
    const metadata = (document.value.metadata ?? {}) as Record<string, unknown>
    workspaces.push({
      document: { ...document.value, metadata: { ...metadata, namespace: target } },
      workspace: { ...result.value, metadata: { ...result.value.metadata, namespace: target } },
      where,
    })
  }
  const empty =
    workspaces.length === 0 && errors.length === 0 ? `${label}: no mlops.aigency.com Workspace found` : undefined
  return { label, workspaces, notices, errors, empty }
}

/**
 * Parses a command's arguments and reads the file they name. Answers `--help` and every bad invocation itself (on
 * `io`, one line saying what is wrong) and then resolves with the exit code; otherwise with the options and the file.
 */
export const readCommandInput = async <T>(
  command: string,
  usage: string,
  options: Options<T & FileOptions>,
  argv: ReadonlyArray<string>,
  io: InputIo,
  environment: Environment = {},
): Promise<number | { readonly options: T & FileOptions; readonly file: WorkspaceFile }> => {
  const parsed = parseOptions(options, argv, environment)
  if (Result.isFailure(parsed)) {
    io.error(`cartographer ${command}: ${parsed.failure}\n\n${usage}\n`)
    return 2
  }
  if (parsed.success === "help") {
    io.write(`${usage}\n`)
    return 0
  }
  const values = parsed.success
  const source = values.filename
  if (source === undefined) {
    io.error(`cartographer ${command}: -f <file|-> is required\n\n${usage}\n`)
    return 2
  }
  let text: string
  try {
    text = source === "-" ? await io.readStdin() : await io.readFile(source)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    io.error(
      `cartographer ${command}: cannot read ${source}: ${code ?? (error instanceof Error ? error.message : String(error))}\n`,
    )
    return 2
  }
  const file = workspacesOf(text, source === "-" ? "<stdin>" : source, values.namespace)
  for (const notice of file.notices) io.error(`${notice}\n`)
  return { options: values, file }
}
