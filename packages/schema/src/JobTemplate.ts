/**
 * The flow-run Jobs of a `kubernetes` pool: what the pool sets in its Prefect work pool's base job template. Each
 * setting becomes the default of a template variable, so that a deployment's `job_variables` can still override it
 * for its own runs (see docs/adr/0009-kubernetes-pool-job-template.md).
 */
import { Schema } from "effect"
import { Env } from "./Container.js"
import { uniqueValues } from "./cel.js"
import { Image, ObjectName } from "./fields.js"
import { EnvFrom } from "./Mounts.js"
import { Resources } from "./Resources.js"
import { labelMap, tolerations } from "./Scheduling.js"

export const JobTemplate = Schema.Struct({
  image: Schema.optionalKey(Image).annotate({
    description: "Image of the flow-run Jobs. Defaults to the pool's `image`, else `spec.workflows.image`.",
  }),
  env: Schema.optionalKey(
    Env.annotate({
      description:
        "Environment variables of every flow run. A deployment's `env` adds to them and wins for a name both set; " +
        "variables from Secrets and ConfigMaps (`valueFrom`) yield to a variable of the same name the worker passes.",
    }),
  ),
  envFrom: Schema.optionalKey(EnvFrom),
  resources: Schema.optionalKey(
    Resources.annotate({
      description:
        "Resources of the flow-run container: cpu and memory as the template's request/limit variables, anything " +
        "else (nvidia.com/gpu, ephemeral-storage) written into the Job as given.",
    }),
  ),
  serviceAccountName: Schema.optionalKey(ObjectName).annotate({
    description:
      "ServiceAccount the flow-run pods run as, in the job namespace (it must exist there). The namespace's " +
      "`default` when absent.",
  }),
  nodeSelector: Schema.optionalKey(labelMap("Node labels the flow-run pods must match.")),
  tolerations: Schema.optionalKey(tolerations("Taints the flow-run pods tolerate (a GPU node's, say).")),
  imagePullSecrets: Schema.optionalKey(
    Schema.Array(ObjectName)
      .annotate({
        description:
          "Secrets (in the job namespace) to pull the flow-run image with. Defaults to `spec.workflows.imagePullSecrets`.",
      })
      .check(Schema.isMaxLength(16, { message: "must list at most 16 items" }), uniqueValues("Secret name")),
  ),
  ttlSecondsAfterFinished: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0, { message: "must be 0 or more" })),
  ).annotate({
    description: "Seconds a finished Job (and its pod's logs) is kept before Kubernetes deletes it. Kept when absent.",
  }),
}).annotate({
  description:
    "For `kubernetes` pools: the flow-run Jobs' settings, written into the Prefect work pool's base job template " +
    "(Prefect's own default template of the worker's prefect-kubernetes, with Cartographer's hardening). The " +
    "Workspace owns that template: an edit made in the Prefect UI is put back within a minute.",
})
export type JobTemplate = typeof JobTemplate.Type
