/**
 * The parts of a container that several components of a Workspace state alike: its image, its environment
 * variables, the names of the objects they refer to.
 */
import { Schema } from "effect"
import { celFilter } from "./cel.js"

export const NonEmptyString = Schema.String.check(Schema.isMinLength(1, { message: "must not be empty" }))

/**
 * A container image reference: printable ASCII without spaces, not empty. Spelled as the range `!`–`~` rather than
 * `\S`: the CRD carries the same pattern to the API server, whose RE2 `\s` knows only ASCII whitespace, so `\S` would
 * let Unicode spaces through there that JavaScript refuses (found by the fuzz suite).
 */
export const Image = Schema.String.check(
  Schema.isPattern(/^[!-~]+$/u, { message: "must be an image reference such as prefecthq/prefect:3.9.1-python3.12" }),
).annotate({ description: "A container image reference (registry/repository:tag or @digest), printable ASCII." })

export const ObjectName = Schema.String.check(
  Schema.isMaxLength(253, { message: "must be at most 253 characters" }),
  Schema.isPattern(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/u, {
    message:
      "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
  }),
)

const KeyRef = Schema.Struct({
  name: ObjectName.annotate({ description: "Name of the object in the Workspace's namespace." }),
  key: NonEmptyString.annotate({ description: "Key within the object." }),
})

export const EnvVar = Schema.Struct({
  name: Schema.String.check(
    Schema.isPattern(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/u, {
      message: "must be an environment variable name: letters, digits, '_', '-' or '.', not starting with a digit",
    }),
  ).annotate({ description: "Name of the environment variable." }),
  value: Schema.optionalKey(Schema.String).annotate({ description: "Literal value." }),
  valueFrom: Schema.optionalKey(
    Schema.Struct({
      secretKeyRef: Schema.optionalKey(KeyRef.annotate({ description: "Take the value from a Secret key." })),
      configMapKeyRef: Schema.optionalKey(KeyRef.annotate({ description: "Take the value from a ConfigMap key." })),
    }).annotate({ description: "Take the value from a Secret or ConfigMap key instead of `value`." }),
  ),
})
  .check(
    celFilter(
      (env) => {
        const sources = (env.value === undefined ? 0 : 1) + (env.valueFrom === undefined ? 0 : 1)
        if (sources === 1) {
          const refs =
            (env.valueFrom?.secretKeyRef === undefined ? 0 : 1) + (env.valueFrom?.configMapKeyRef === undefined ? 0 : 1)
          return refs === 1 || env.valueFrom === undefined
            ? undefined
            : { path: ["valueFrom"], issue: "must set exactly one of secretKeyRef or configMapKeyRef" }
        }
        return "must set exactly one of value or valueFrom"
      },
      [
        { rule: "has(self.value) != has(self.valueFrom)", message: "must set exactly one of value or valueFrom" },
        {
          rule: "!has(self.valueFrom) || (has(self.valueFrom.secretKeyRef) != has(self.valueFrom.configMapKeyRef))",
          message: "valueFrom must set exactly one of secretKeyRef or configMapKeyRef",
        },
      ],
    ),
  )
  .annotate({ description: "An environment variable for the container." })
export type EnvVar = typeof EnvVar.Type

export const Env = Schema.Array(EnvVar).annotate({
  description: "Extra environment variables; they may not override the variables Cartographer sets.",
})
