/**
 * The identity a pool's workers run as: a ServiceAccount Cartographer creates (`<workspace>-agent-<pool>`), with
 * annotations that bind it to a cloud identity (IRSA's `eks.amazonaws.com/role-arn`, GKE Workload Identity's
 * `iam.gke.io/gcp-service-account`, Azure's `azure.workload.identity/client-id`), or an existing ServiceAccount the
 * team manages itself.
 */
import { Schema } from "effect"
import { notWith } from "./cel.js"
import { SubdomainName } from "./Scheduling.js"

export const PoolServiceAccount = Schema.Struct({
  name: Schema.optionalKey(
    SubdomainName.annotate({
      description:
        "Run the workers as this existing ServiceAccount of the Workspace's namespace instead of one Cartographer " +
        "creates. For a `kubernetes` pool, its Role is bound to this account.",
    }),
  ),
  annotations: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.String)
      .annotate({
        description:
          "Annotations of the ServiceAccount Cartographer creates for the pool (which a `process` pool then gets " +
          "too), e.g. eks.amazonaws.com/role-arn or iam.gke.io/gcp-service-account.",
      })
      .check(Schema.isMaxProperties(64, { message: "must have at most 64 annotations" })),
  ),
})
  .annotate({
    description:
      "The ServiceAccount of the pool's workers: cloud identity annotations on the one Cartographer creates, or the " +
      "name of an existing one. By default a `kubernetes` pool gets its own ServiceAccount and a `process` pool none.",
  })
  .check(
    notWith({
      field: "annotations",
      other: "name",
      reason: "must not be set with name: Cartographer does not change a ServiceAccount it did not create",
    }),
  )
export type PoolServiceAccount = typeof PoolServiceAccount.Type
