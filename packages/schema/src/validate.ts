/**
 * Decoding and validating Workspaces: `decodeWorkspace` for Effect code (fails with every issue at once) and
 * `validateWorkspace` for plain callers (CI scripts, webhooks): ok + value, or `{ path, message }` issues.
 */
import { Effect, Result, Schema, SchemaIssue } from "effect"
import { Workspace } from "./Workspace.js"

/** One problem with a document, at a path written as kubectl does: `spec.workflows.agentPools[0].name`. */
export interface ValidationIssue {
  readonly path: string
  readonly message: string
}

/** A Workspace that does not satisfy the Schema; carries every issue, not just the first. */
export class WorkspaceValidationError extends Schema.TaggedError<WorkspaceValidationError>()(
  "WorkspaceValidationError",
  {
    issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String })),
  },
) {
  override get message(): string {
    return formatIssues(this.issues)
  }
}

export interface ValidateOptions {
  /**
   * What to do with fields the Schema does not know. `"error"` (the default here, as with `kubectl apply`'s strict
   * field validation) reports them, so that a misspelt field fails CI instead of being silently dropped;
   * `"ignore"` strips them.
   */
  readonly unknownFields?: "error" | "ignore"
}

export type ValidationResult =
  | { readonly ok: true; readonly value: Workspace }
  | { readonly ok: false; readonly issues: ReadonlyArray<ValidationIssue> }

const unknownFieldMessage = "unknown field: not part of the Workspace schema (check its spelling and indentation)"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => {
    switch (issue._tag) {
      case "MissingKey":
        return SchemaIssue.defaultLeafHook(issue) === "Missing key" ? "is required" : SchemaIssue.defaultLeafHook(issue)
      case "UnexpectedKey":
        return unknownFieldMessage
      default:
        return SchemaIssue.defaultLeafHook(issue)
    }
  },
})

/** `["spec", "workflows", "agentPools", 0, "name"]` → `spec.workflows.agentPools[0].name`. */
export const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path.reduce<string>((out, segment) => {
    const key = typeof segment === "object" && segment !== null ? segment.key : segment
    if (typeof key === "number") return `${out}[${key}]`
    const name = String(key)
    return /^[A-Za-z_$][\w$-]*$/u.test(name)
      ? out === ""
        ? name
        : `${out}.${name}`
      : `${out}[${JSON.stringify(name)}]`
  }, "")

/** Issues of a Schema failure, in document order, one per problem. */
export const issuesOf = (issue: SchemaIssue.Issue): ReadonlyArray<ValidationIssue> =>
  formatter(issue).issues.map((i) => ({ path: formatPath(i.path ?? []), message: i.message }))

export const formatIssues = (issues: ReadonlyArray<ValidationIssue>): string =>
  issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`)).join("\n")

/**
 * The document without its null-valued keys, at any depth, as the API server stores it: no Workspace field is
 * nullable, and for such fields it drops an explicit null (`image: null`, or `image:` with nothing after it in
 * YAML) before defaulting. So the validator accepts what `kubectl apply` accepts, with the defaults the cluster
 * would fill in (found by the fuzz suite). Null list items are kept: the API server refuses those. `undefined`
 * when there was no null key.
 */
const withoutNullKeys = (value: unknown): unknown => {
  let dropped = false
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip)
    if (typeof node !== "object" || node === null) return node
    const out: Record<string, unknown> = {}
    for (const [key, field] of Object.entries(node)) {
      if (field === null) dropped = true
      else out[key] = strip(field)
    }
    return out
  }
  const stripped = strip(value)
  return dropped ? stripped : undefined
}

const decodeUnknown = Schema.decodeUnknownResult(Workspace)
const parseOptions = (options?: ValidateOptions) =>
  ({ errors: "all", reportInput: true, onExcessProperty: options?.unknownFields ?? "error" }) as const

/** The decoded Workspace, or every issue in document order. */
const check = (input: unknown, options?: ValidateOptions): ValidationResult => {
  const parse = parseOptions(options)
  const stripped = withoutNullKeys(input)
  const result = decodeUnknown(stripped ?? input, parse)
  // A dropped null key may still be a field the Schema does not know, which strict validation reports (and the API
  // server's strict field validation refuses) whatever its value.
  const unknownNullKeys =
    stripped === undefined || parse.onExcessProperty !== "error"
      ? []
      : Result.match(decodeUnknown(input, parse), {
          onSuccess: () => [],
          onFailure: (error) => issuesOf(error.issue).filter((i) => i.message === unknownFieldMessage),
        })
  if (Result.isSuccess(result) && unknownNullKeys.length === 0) return { ok: true, value: result.success }
  const issues = Result.isSuccess(result) ? [] : issuesOf(result.failure.issue)
  const seen = new Set(issues.map((i) => `${i.path}\n${i.message}`))
  return { ok: false, issues: [...issues, ...unknownNullKeys.filter((i) => !seen.has(`${i.path}\n${i.message}`))] }
}

/**
 * Decodes an unknown value (a parsed YAML document, a watch event's object) into a Workspace with defaults.
 * Unknown fields are ignored by default here: objects read from the API server were already pruned by the CRD.
 */
export const decodeWorkspace = (
  input: unknown,
  options: ValidateOptions = { unknownFields: "ignore" },
): Effect.Effect<Workspace, WorkspaceValidationError> =>
  Effect.suspend(() => {
    const result = check(input, options)
    return result.ok
      ? Effect.succeed(result.value)
      : Effect.fail(new WorkspaceValidationError({ issues: result.issues }))
  })

/** Validates an unknown value without Effect; never throws. Unknown fields are errors unless told otherwise. */
export const validateWorkspace = (input: unknown, options?: ValidateOptions): ValidationResult => check(input, options)

/** The JSON form of a decoded Workspace (defaults made explicit), as it would be sent to the API server. */
export const encodeWorkspace: (workspace: Workspace) => typeof Workspace.Encoded = Schema.encodeSync(Workspace)
