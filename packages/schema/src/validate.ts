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

const formatter = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => {
    switch (issue._tag) {
      case "MissingKey":
        return SchemaIssue.defaultLeafHook(issue) === "Missing key" ? "is required" : SchemaIssue.defaultLeafHook(issue)
      case "UnexpectedKey":
        return "unknown field: not part of the Workspace schema (check its spelling and indentation)"
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

const decode = Schema.decodeUnknownEffect(Workspace)
const decodeResult = Schema.decodeUnknownResult(Workspace)
const parseOptions = (options?: ValidateOptions) =>
  ({ errors: "all", reportInput: true, onExcessProperty: options?.unknownFields ?? "error" }) as const

/**
 * Decodes an unknown value (a parsed YAML document, a watch event's object) into a Workspace with defaults.
 * Unknown fields are ignored by default here: objects read from the API server were already pruned by the CRD.
 */
export const decodeWorkspace = (
  input: unknown,
  options: ValidateOptions = { unknownFields: "ignore" },
): Effect.Effect<Workspace, WorkspaceValidationError> =>
  decode(input, parseOptions(options)).pipe(
    Effect.mapError((error) => new WorkspaceValidationError({ issues: issuesOf(error.issue) })),
  )

/** Validates an unknown value without Effect; never throws. Unknown fields are errors unless told otherwise. */
export const validateWorkspace = (input: unknown, options?: ValidateOptions): ValidationResult => {
  const result = decodeResult(input, parseOptions(options))
  return Result.isSuccess(result)
    ? { ok: true, value: result.success }
    : { ok: false, issues: issuesOf(result.failure.issue) }
}

/** The JSON form of a decoded Workspace (defaults made explicit), as it would be sent to the API server. */
export const encodeWorkspace: (workspace: Workspace) => typeof Workspace.Encoded = Schema.encodeSync(Workspace)
