/**
 * Field types the Workspace's modules share (`Workspace.ts` and the modules of one concept each, such as
 * `Exposure.ts` or `BasicAuth.ts`): one definition of "a Kubernetes object name", "a key of a Secret", and of how an
 * optional field states its default.
 */
import { Effect, Schema } from "effect"

/** An optional key with a default applied when decoding, also stated as `default` in the CRD and JSON Schema. */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"], description?: string) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(
    schema.annotate(description === undefined ? { default: value } : { default: value, description }) as unknown as S,
  )

export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0, { message: "must be 0 or more" }))

export const NonEmptyString = Schema.String.check(Schema.isMinLength(1, { message: "must not be empty" }))

/** A Kubernetes object name (DNS-1123 subdomain): what a Secret, an IngressClass or a Gateway is called. */
export const ObjectName = Schema.String.check(
  Schema.isMaxLength(253, { message: "must be at most 253 characters" }),
  Schema.isPattern(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/u, {
    message:
      "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
  }),
)

/** A key of a Secret or ConfigMap: letters, digits, `-`, `_` and `.`, as the API server allows. */
export const DataKey = Schema.String.check(
  Schema.isMaxLength(253, { message: "must be at most 253 characters" }),
  Schema.isPattern(/^[-._a-zA-Z0-9]+$/u, { message: "must be a Secret key: letters, digits, '-', '_' and '.'" }),
)

/** A reference to one key of a Secret in the Workspace's namespace, with the key's default stated by the caller. */
export const secretKeyRef = (defaultKey: string, keyDescription: string) =>
  Schema.Struct({
    name: ObjectName.annotate({ description: "Name of the Secret in the Workspace's namespace." }),
    key: withDefault(DataKey, defaultKey, keyDescription),
  })

/** A string-to-string map (labels, annotations) of at most `max` entries. */
export const StringMap = (max: number, description: string) =>
  Schema.Record(Schema.String, Schema.String)
    .annotate({ description })
    .check(Schema.isMaxProperties(max, { message: `must have at most ${max} entries` }))

/**
 * A container image reference: printable ASCII without spaces, not empty. Spelled as the range `!`–`~` rather than
 * `\S`: the CRD carries the same pattern to the API server, whose RE2 `\s` knows only ASCII whitespace, so `\S` would
 * let Unicode spaces through there that JavaScript refuses (found by the fuzz suite).
 */
export const Image = Schema.String.check(
  Schema.isPattern(/^[!-~]+$/u, { message: "must be an image reference such as prefecthq/prefect:3.9.1-python3.12" }),
).annotate({ description: "A container image reference (registry/repository:tag or @digest), printable ASCII." })
