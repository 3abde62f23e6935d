/**
 * The environment variables of a container, as several components of a Workspace state them (the server, pools,
 * flow-run Jobs).
 */
import { Schema } from "effect"
import { celFilter } from "./cel.js"
import { NonEmptyString, ObjectName } from "./fields.js"

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
