/**
 * `cartographer plan -f <file|->`: prints the objects the operator would create for the Workspaces in a file, as a
 * multi-document YAML stream (offline, like `helm template`), usable with `kubectl apply [--dry-run=server] -f -`.
 *
 * What it prints is the plan the operator converges to: the migration Job, and the server already at its replicas
 * (the operator would first wait for the Job; applied by hand, the server simply retries until the schema exists).
 * No owner references: the Workspace has no uid offline (and a made-up one would get the objects garbage-collected).
 *
 * The database Secret gets a freshly generated random password (never a fixed placeholder). Postgres keeps the
 * password it was initialised with, so apply that Secret once: a later run prints a new password, and re-applying it
 * would lock the server out. `--omit-secret` leaves the Secret out (with a comment) for such later runs.
 */
import { randomBytes } from "node:crypto"
import { parseArgs } from "node:util"
import { convergedPlan, type ManagedObject, secretKeys } from "@cartographer/reconciler"
import { parseDocuments, type ValidationIssue, validateWorkspace, type Workspace } from "@cartographer/schema"
import { readInput } from "./input.js"
import { toYamlStream } from "./yaml.js"

export const usage = `Usage: cartographer plan -f <file|-> [options]

Prints the Kubernetes objects Cartographer would create for each Workspace in the file, as multi-document YAML
(offline; nothing is sent to a cluster). Pipe it to \`kubectl apply --dry-run=server -f -\` to check it against a cluster.

Options:
  -f, --filename <file|->  Workspace manifest (YAML or JSON; - for standard input). Other kinds are skipped.
  -n, --namespace <ns>     namespace of the objects (default: the Workspace's, else "default")
      --omit-secret        leave the database Secret out (it holds a newly generated password; apply it only once)
  -h, --help               show this help

Exit codes: 0 planned, 1 an invalid Workspace, 2 usage or read error.`

export interface PlanIo {
  readonly readFile: (path: string) => Promise<string>
  readonly readStdin: () => Promise<string>
  readonly write: (text: string) => void
  readonly error: (text: string) => void
  /** A new random password for the database Secret. */
  readonly password: () => string
  readonly now: () => string
}

/** 24 random bytes, base64url: 32 characters that need no escaping in a URL, a shell or YAML. */
export const randomPassword = (): string => randomBytes(24).toString("base64url")

const isWorkspaceDocument = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  (value as { kind?: unknown }).kind === "Workspace" &&
  typeof (value as { apiVersion?: unknown }).apiVersion === "string" &&
  (value as { apiVersion: string }).apiVersion.startsWith("mlops.aigency.com/")

const withNamespace = (workspace: Workspace, namespace: string | undefined): Workspace =>
  namespace === undefined ? workspace : { ...workspace, metadata: { ...workspace.metadata, namespace } }

const secretComment = (object: ManagedObject, omitted: boolean): string =>
  omitted
    ? `Secret ${object.metadata.name} omitted (--omit-secret). It must exist in namespace ${object.metadata.namespace} ` +
      `with the keys ${Object.values(secretKeys).join(", ")}\n(for example the one a first \`cartographer plan\` printed).`
    : "The database password below was generated at random for this run. Apply it once: Postgres keeps the password\n" +
      "it was initialised with, and a later run prints another one (use --omit-secret then)."

/** Plans every Workspace of a manifest text; the YAML stream, or the issues of the invalid documents. */
export const planText = (
  text: string,
  source: string,
  options: {
    readonly namespace?: string
    readonly omitSecret: boolean
    readonly password: () => string
    readonly now: string
  },
): { readonly yaml: string; readonly errors: ReadonlyArray<string>; readonly notices: ReadonlyArray<string> } => {
  const documents: Array<{ comment?: string; value: unknown }> = []
  const errors: Array<string> = []
  const notices: Array<string> = []
  // Comments wait for the next object, so that every document of the stream is an object.
  let pending: Array<string> = []
  const emit = (value: unknown, comment?: string) => {
    const comments = comment === undefined ? pending : [...pending, comment]
    documents.push(comments.length === 0 ? { value } : { comment: comments.join("\n\n"), value })
    pending = []
  }
  for (const document of parseDocuments(text)) {
    const where = `${source}:${document.line}`
    if (document.errors.length > 0) {
      for (const e of document.errors) errors.push(`${source}:${e.line}: ${e.message}`)
      continue
    }
    if (!isWorkspaceDocument(document.value)) {
      notices.push(`${where}: skipped, not a mlops.aigency.com Workspace`)
      continue
    }
    const result = validateWorkspace(document.value)
    if (!result.ok) {
      errors.push(
        ...result.issues.map((i: ValidationIssue) => `${where}: ${i.path === "" ? "" : `${i.path}: `}${i.message}`),
      )
      continue
    }
    const workspace = withNamespace(result.value, options.namespace)
    const plan = convergedPlan(workspace, { now: options.now, generatedPassword: options.password() })
    if (plan.apply.length === 0) {
      // The planner refused it (a derived name that cannot work): its status says why.
      const degraded = plan.status.conditions?.find((c) => c.type === "Degraded")
      errors.push(`${where}: ${degraded?.message ?? "cannot be planned"}`)
      continue
    }
    pending.push(`Planned by \`cartographer plan\` from ${source} (Workspace ${workspace.metadata.name}).`)
    for (const object of plan.apply) {
      if (object.kind !== "Secret") emit(object)
      else if (options.omitSecret) pending.push(secretComment(object, true))
      else emit(object, secretComment(object, false))
    }
  }
  if (documents.length === 0 && errors.length === 0) errors.push(`${source}: no mlops.aigency.com Workspace found`)
  return { yaml: toYamlStream(documents), errors, notices }
}

export const runPlan = async (argv: ReadonlyArray<string>, io: PlanIo): Promise<number> => {
  let values: { filename?: string | undefined; namespace?: string | undefined; "omit-secret"?: boolean; help?: boolean }
  try {
    values = parseArgs({
      args: [...argv],
      allowPositionals: false,
      options: {
        filename: { type: "string", short: "f" },
        namespace: { type: "string", short: "n" },
        "omit-secret": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values
  } catch (error) {
    io.error(`cartographer plan: ${error instanceof Error ? error.message : String(error)}\n\n${usage}\n`)
    return 2
  }
  if (values.help === true) {
    io.write(`${usage}\n`)
    return 0
  }
  const input = await readInput("plan", usage, values, io)
  if (input === 2) return 2
  const result = planText(input.text, input.label, {
    ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
    omitSecret: values["omit-secret"] === true,
    password: io.password,
    now: io.now(),
  })
  for (const notice of result.notices) io.error(`${notice}\n`)
  if (result.errors.length > 0) {
    for (const error of result.errors) io.error(`${error}\n`)
    return 1
  }
  io.write(result.yaml)
  return 0
}
