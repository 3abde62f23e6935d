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
import { convergedPlan, generatePassword, type ManagedObject, secretKeys } from "@cartographer/reconciler"
import { toYamlStream } from "@cartographer/schema"
import { help, type Options, Text } from "./Options.js"
import { type FileOptions, fileOptions, type InputIo, readCommandInput, type WorkspaceFile } from "./WorkspaceFiles.js"

interface PlanOptions extends FileOptions {
  readonly omitSecret: boolean
}

const planOptions: Options<PlanOptions> = {
  ...fileOptions,
  omitSecret: {
    flag: "omit-secret",
    switch: true,
    schema: Text.boolean,
    default: false,
    doc: "leave the database Secret out (it holds a newly generated password; apply it only once)",
  },
}

export const usage = `Usage: cartographer plan -f <file|-> [options]

Prints the Kubernetes objects Cartographer would create for each Workspace in the file, as multi-document YAML
(offline; nothing is sent to a cluster). Pipe it to \`kubectl apply --dry-run=server -f -\` to check it against a cluster.

Options:
${help(planOptions)}

Exit codes: 0 planned, 1 an invalid Workspace, 2 usage or read error.`

export interface PlanIo extends InputIo {
  /** A new random password for the database Secret. Default: `generatePassword`. */
  readonly password?: (() => string) | undefined
  /** The time the plan is made at. Default: the clock. */
  readonly now?: (() => string) | undefined
}

const secretComment = (object: ManagedObject, omitted: boolean): string =>
  omitted
    ? `Secret ${object.metadata.name} omitted (--omit-secret). It must exist in namespace ${object.metadata.namespace} ` +
      `with the keys ${Object.values(secretKeys).join(", ")}\n(for example the one a first \`cartographer plan\` printed).`
    : "The database password below was generated at random for this run. Apply it once: Postgres keeps the password\n" +
      "it was initialised with, and a later run prints another one (use --omit-secret then)."

/** Plans every Workspace of a file: the YAML stream, or why some could not be planned. */
export const planFile = (
  file: WorkspaceFile,
  options: { readonly omitSecret: boolean; readonly password: () => string; readonly now: string },
): { readonly yaml: string; readonly errors: ReadonlyArray<string> } => {
  const documents: Array<{ comment?: string; value: unknown }> = []
  const errors: Array<string> = [...file.errors, ...(file.empty === undefined ? [] : [file.empty])]
  // Comments wait for the next object, so that every document of the stream is an object.
  let pending: Array<string> = []
  const emit = (value: unknown, comment?: string) => {
    const comments = comment === undefined ? pending : [...pending, comment]
    documents.push(comments.length === 0 ? { value } : { comment: comments.join("\n\n"), value })
    pending = []
  }
  for (const { workspace, where } of file.workspaces) {
    const plan = convergedPlan(workspace, {
      now: options.now,
      generatedPassword: options.password(),
      generatedSecrets: { apiAuthPassword: options.password(), redisPassword: options.password() },
    })
    if (plan.apply.length === 0) {
      // The planner refused it (a derived name that cannot work): its status says why.
      const degraded = plan.status.conditions?.find((c) => c.type === "Degraded")
      errors.push(`${where}: ${degraded?.message ?? "cannot be planned"}`)
      continue
    }
    pending.push(`Planned by \`cartographer plan\` from ${file.label} (Workspace ${workspace.metadata.name}).`)
    for (const object of plan.apply) {
      if (object.kind !== "Secret") emit(object)
      else if (options.omitSecret) pending.push(secretComment(object, true))
      else emit(object, secretComment(object, false))
    }
  }
  return { yaml: toYamlStream(documents), errors }
}

export const runPlan = async (argv: ReadonlyArray<string>, io: PlanIo): Promise<number> => {
  const input = await readCommandInput("plan", usage, planOptions, argv, io)
  if (typeof input === "number") return input
  const result = planFile(input.file, {
    omitSecret: input.options.omitSecret,
    password: io.password ?? generatePassword,
    now: io.now?.() ?? new Date().toISOString(),
  })
  if (result.errors.length > 0) {
    for (const error of result.errors) io.error(`${error}\n`)
    return 1
  }
  io.write(result.yaml)
  return 0
}
