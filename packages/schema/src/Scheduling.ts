/**
 * Where a component's pods run and what they carry: node selector, tolerations, affinity, topology spread,
 * priority class, pod labels and annotations. Stated once for the Workspace (`spec.workflows`) and, to override it,
 * for each component (server, database, Redis, migration Job, each pool): `placementFields` are spread into each.
 *
 * The types are Kubernetes' own (core/v1), checked as the API server checks a pod's, so that a Workspace whose pods
 * it would refuse is refused when applied, with the Workspace's path: enums, required fields, the operator/values
 * rules of selectors and tolerations, label syntax. Their CEL twins stay within the CRD's cost budget (`cel.ts`).
 */
import { Schema } from "effect"
import { type CelRule, celFilter, fieldOnlyWhen, onlyWhen, uniqueBy } from "./cel.js"
import {
  dns1123LabelPattern,
  labelValuePattern,
  maxLabelLength,
  maxQualifiedNameLength,
  qualifiedNamePattern,
} from "./nameRules.js"

/** Lists and maps the CRD's rules iterate are bounded (`cel.ts`). */
const maxItems = 16
const maxLabels = 64

/** A list of at most `maxItems`; a description must come before the check to reach the CRD. */
export const bounded = <S extends Schema.Top>(item: S, description?: string) =>
  (description === undefined ? Schema.Array(item) : Schema.Array(item).annotate({ description })).check(
    Schema.isMaxLength(maxItems, { message: `must list at most ${maxItems} items` }),
  )

const QualifiedName = Schema.String.check(
  Schema.isMaxLength(maxQualifiedNameLength, { message: `must be at most ${maxQualifiedNameLength} characters` }),
  Schema.isPattern(qualifiedNamePattern, {
    message:
      "must be a qualified name such as example.com/gpu or zone: an optional DNS-subdomain prefix and '/', then " +
      "letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
  }),
)

const LabelValue = Schema.String.check(
  Schema.isMaxLength(maxLabelLength, { message: "must be at most 63 characters" }),
  Schema.isPattern(labelValuePattern, {
    message: "must be a label value: empty, or letters, digits, '-', '_' and '.', starting and ending alphanumeric",
  }),
)

/** A DNS subdomain (PriorityClass, ServiceAccount and object names). */
export const SubdomainName = Schema.String.check(
  Schema.isMaxLength(253, { message: "must be at most 253 characters" }),
  Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/u, {
    message: "must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
  }),
)

/**
 * A map of labels: the values checked here; the keys by the API server, on the pods (a CRD cannot check a map's keys
 * but with CEL, which would exceed its cost budget on keys of unbounded length).
 */
export const labelMap = (description: string) =>
  Schema.Record(Schema.String, LabelValue)
    .annotate({ description })
    .check(Schema.isMaxProperties(maxLabels, { message: `must have at most ${maxLabels} labels` }))

// ---- tolerations ------------------------------------------------------------------------------------------------

const tolerationSecondsOnlyNoExecute = fieldOnlyWhen<{ readonly tolerationSeconds?: number; readonly effect?: string }>(
  {
    field: "tolerationSeconds",
    holds: (t) => t.effect === "NoExecute",
    cel: "(has(self.effect) && self.effect == 'NoExecute')",
    reason: "applies only to effect NoExecute",
  },
)

const tolerationRules: ReadonlyArray<CelRule> = [
  {
    rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
    message: "value must be empty when operator is Exists",
    fieldPath: ".value",
  },
  {
    rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
    message: "a toleration without a key must have operator Exists (it then tolerates every taint)",
    fieldPath: ".operator",
  },
  tolerationSecondsOnlyNoExecute.rule,
]

export const Toleration = Schema.Struct({
  key: Schema.optionalKey(
    Schema.String.check(
      Schema.isMaxLength(maxQualifiedNameLength, { message: `must be at most ${maxQualifiedNameLength} characters` }),
      Schema.isPattern(new RegExp(`^(${qualifiedNamePattern.source.slice(1, -1)})?$`, "u"), {
        message: "must be a taint key such as nvidia.com/gpu (a qualified name), or empty to match every key",
      }),
    ),
  ).annotate({ description: "Taint key to tolerate; empty (with operator Exists) tolerates every taint." }),
  operator: Schema.optionalKey(Schema.Literals(["Exists", "Equal"])).annotate({
    description: "`Equal` (the default) matches the taint's value; `Exists` any value.",
  }),
  value: Schema.optionalKey(LabelValue).annotate({ description: "Taint value, with operator Equal." }),
  effect: Schema.optionalKey(Schema.Literals(["NoSchedule", "PreferNoSchedule", "NoExecute"])).annotate({
    description: "Taint effect to tolerate; every effect when absent.",
  }),
  tolerationSeconds: Schema.optionalKey(Schema.Int).annotate({
    description: "With effect NoExecute: how long the pod stays bound after the taint appears.",
  }),
})
  .annotate({ description: "A toleration, as in a Kubernetes pod (`tolerations[]`)." })
  .check(
    celFilter((t) => {
      if (t.operator === "Exists" && (t.value ?? "") !== "")
        return { path: ["value"], issue: "must be empty when operator is Exists" }
      if ((t.key ?? "") === "" && t.operator !== "Exists")
        return {
          path: ["operator"],
          issue: "a toleration without a key must have operator Exists (it then tolerates every taint)",
        }
      return tolerationSecondsOnlyNoExecute.issue(t)
    }, tolerationRules),
  )
export type Toleration = typeof Toleration.Type

export const tolerations = (description: string) => bounded(Toleration, description)

// ---- selectors --------------------------------------------------------------------------------------------------

/** Values of a selector requirement: label values, as the API server checks them on the pods. */
const RequirementValues = bounded(LabelValue, "Values to compare with.")

const operatorValuesIssue = (operator: string, values: ReadonlyArray<string> | undefined) => {
  const count = values?.length ?? 0
  if ((operator === "In" || operator === "NotIn") && count === 0)
    return { path: ["values"], issue: `must list at least one value for operator ${operator}` }
  if ((operator === "Exists" || operator === "DoesNotExist") && count > 0)
    return { path: ["values"], issue: `must be empty for operator ${operator}` }
  // A label value cannot start with '-': the integer is a whole number.
  if ((operator === "Gt" || operator === "Lt") && (count !== 1 || !/^[0-9]+$/u.test(values?.[0] ?? "")))
    return { path: ["values"], issue: `must be exactly one whole number for operator ${operator}` }
  return undefined
}

const requirementRule = (numeric: boolean): CelRule => ({
  rule:
    "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : " +
    (numeric
      ? "self.operator in ['Exists', 'DoesNotExist'] ? (!has(self.values) || size(self.values) == 0) : " +
        "(has(self.values) && size(self.values) == 1 && self.values[0].matches('^[0-9]+$'))"
      : "(!has(self.values) || size(self.values) == 0)"),
  message: numeric
    ? "values: some for In and NotIn, none for Exists and DoesNotExist, one whole number for Gt and Lt"
    : "values: some for In and NotIn, none for Exists and DoesNotExist",
  fieldPath: ".values",
})

/** A node selector requirement (node affinity): also `Gt`/`Lt`, which compare an integer. */
const NodeSelectorRequirement = Schema.Struct({
  key: QualifiedName.annotate({ description: "Node label key." }),
  operator: Schema.Literals(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]).annotate({
    description: "How the label is compared with `values`.",
  }),
  values: Schema.optionalKey(RequirementValues),
})
  .annotate({ description: "A requirement on a node label." })
  .check(celFilter((r) => operatorValuesIssue(r.operator, r.values), [requirementRule(true)]))

const NodeSelectorTerm = Schema.Struct({
  matchExpressions: Schema.optionalKey(bounded(NodeSelectorRequirement, "Requirements on the node's labels.")),
  matchFields: Schema.optionalKey(bounded(NodeSelectorRequirement, "Requirements on the node's fields.")),
}).annotate({ description: "Requirements that must all hold (terms of a list are ORed)." })

const LabelSelectorRequirement = Schema.Struct({
  key: QualifiedName.annotate({ description: "Label key." }),
  operator: Schema.Literals(["In", "NotIn", "Exists", "DoesNotExist"]).annotate({
    description: "How the label is compared with `values`.",
  }),
  values: Schema.optionalKey(RequirementValues),
})
  .annotate({ description: "A requirement on a pod or namespace label." })
  .check(celFilter((r) => operatorValuesIssue(r.operator, r.values), [requirementRule(false)]))

export const LabelSelector = Schema.Struct({
  matchLabels: Schema.optionalKey(labelMap("Labels the objects must have.")),
  matchExpressions: Schema.optionalKey(bounded(LabelSelectorRequirement, "Requirements on labels.")),
}).annotate({ description: "A label selector." })
export type LabelSelector = typeof LabelSelector.Type

// ---- affinity ---------------------------------------------------------------------------------------------------

const Weight = Schema.Int.check(
  Schema.isGreaterThanOrEqualTo(1, { message: "must be between 1 and 100" }),
  Schema.isLessThanOrEqualTo(100, { message: "must be between 1 and 100" }),
).annotate({ description: "Weight of this preference, 1 to 100." })

const PodAffinityTerm = Schema.Struct({
  labelSelector: Schema.optionalKey(LabelSelector),
  namespaceSelector: Schema.optionalKey(LabelSelector),
  namespaces: Schema.optionalKey(
    bounded(
      Schema.String.check(
        Schema.isMaxLength(maxLabelLength, { message: "must be at most 63 characters" }),
        Schema.isPattern(dns1123LabelPattern, { message: "must be a namespace name" }),
      ),
      "Namespaces of those pods (default: the pod's).",
    ),
  ),
  topologyKey: QualifiedName.annotate({ description: "Node label whose value defines a topology domain." }),
  matchLabelKeys: Schema.optionalKey(bounded(QualifiedName, "Label keys whose values those pods share.")),
  mismatchLabelKeys: Schema.optionalKey(bounded(QualifiedName, "Label keys whose values those pods do not share.")),
}).annotate({ description: "Pods whose topology domain to share (or avoid)." })

const WeightedPodAffinityTerm = Schema.Struct({ weight: Weight, podAffinityTerm: PodAffinityTerm })

const podAffinity = (description: string) =>
  Schema.Struct({
    requiredDuringSchedulingIgnoredDuringExecution: Schema.optionalKey(
      bounded(PodAffinityTerm, "Terms that must all hold."),
    ),
    preferredDuringSchedulingIgnoredDuringExecution: Schema.optionalKey(
      bounded(WeightedPodAffinityTerm, "Terms favoured by weight."),
    ),
  }).annotate({ description })

export const Affinity = Schema.Struct({
  nodeAffinity: Schema.optionalKey(
    Schema.Struct({
      requiredDuringSchedulingIgnoredDuringExecution: Schema.optionalKey(
        Schema.Struct({
          nodeSelectorTerms: bounded(NodeSelectorTerm, "Terms of which at least one must hold.").check(
            Schema.isMinLength(1, { message: "must list at least one term" }),
          ),
        }).annotate({ description: "Nodes the pods may run on." }),
      ),
      preferredDuringSchedulingIgnoredDuringExecution: Schema.optionalKey(
        bounded(
          Schema.Struct({ weight: Weight, preference: NodeSelectorTerm }),
          "Nodes the scheduler favours, by weight.",
        ),
      ),
    }).annotate({ description: "Which nodes the pods run on, by the nodes' labels." }),
  ),
  podAffinity: Schema.optionalKey(podAffinity("Run the pods near other pods.")),
  podAntiAffinity: Schema.optionalKey(podAffinity("Run the pods away from other pods (one per node, say).")),
}).annotate({ description: "Node and pod affinity of the pods, as in a Kubernetes pod spec (`affinity`)." })
export type Affinity = typeof Affinity.Type

// ---- topology spread --------------------------------------------------------------------------------------------

const TopologySpreadConstraint = Schema.Struct({
  maxSkew: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1, { message: "must be 1 or more" })).annotate({
    description: "How unevenly the pods may be spread between domains.",
  }),
  topologyKey: QualifiedName.annotate({ description: "Node label whose value defines a domain (zone, hostname)." }),
  whenUnsatisfiable: Schema.Literals(["DoNotSchedule", "ScheduleAnyway"]).annotate({
    description: "Whether a pod that would break the spread waits (DoNotSchedule) or runs anyway.",
  }),
  labelSelector: Schema.optionalKey(
    LabelSelector.annotate({
      description: "Pods counted for the spread. Defaults to the component's own pods (its selector labels).",
    }),
  ),
  minDomains: Schema.optionalKey(
    Schema.Int.annotate({ description: "With DoNotSchedule: the least number of domains to count." }).check(
      Schema.isGreaterThanOrEqualTo(1, { message: "must be 1 or more" }),
    ),
  ),
  nodeAffinityPolicy: Schema.optionalKey(
    Schema.Literals(["Honor", "Ignore"]).annotate({ description: "Whether the pods' node affinity limits domains." }),
  ),
  nodeTaintsPolicy: Schema.optionalKey(
    Schema.Literals(["Honor", "Ignore"]).annotate({ description: "Whether untolerated taints limit domains." }),
  ),
  matchLabelKeys: Schema.optionalKey(bounded(QualifiedName, "Keys of the pod's labels whose values group the pods.")),
})
  .annotate({ description: "A topology spread constraint, as in a Kubernetes pod spec." })
  .check(
    onlyWhen({
      field: "minDomains",
      holds: (c) => c.whenUnsatisfiable === "DoNotSchedule",
      cel: "self.whenUnsatisfiable == 'DoNotSchedule'",
      reason: "applies only to whenUnsatisfiable DoNotSchedule",
    }),
  )
export type TopologySpreadConstraint = typeof TopologySpreadConstraint.Type

// ---- pod labels and annotations ---------------------------------------------------------------------------------

/** The prefix of every label (and annotation) Cartographer owns. */
export const reservedLabelPrefix = "mlops.aigency.com/"
/** The recommended labels Cartographer sets on every pod. */
export const reservedLabelKeys: ReadonlyArray<string> = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/component",
  "app.kubernetes.io/part-of",
  "app.kubernetes.io/managed-by",
]

const reservedLabelIssue = (key: string): string | undefined =>
  key.startsWith(reservedLabelPrefix)
    ? `label "${key}" is reserved: Cartographer selects the Workspace's pods by its ${reservedLabelPrefix}* labels (Deployments, Services, NetworkPolicies), so a pod must keep the values it sets; use a key of your own`
    : reservedLabelKeys.includes(key)
      ? `label "${key}" is reserved: Cartographer sets it on every pod it runs; use a key of your own`
      : undefined

export const podLabels = (description: string) =>
  labelMap(
    `${description} Keys starting with \`${reservedLabelPrefix}\` and the \`app.kubernetes.io/\` labels ` +
      "Cartographer sets are refused: its selectors rely on them.",
  ).check(
    celFilter(
      (labels: Readonly<Record<string, string>>) =>
        Object.keys(labels).flatMap((key) => {
          const issue = reservedLabelIssue(key)
          return issue === undefined ? [] : [{ path: [key], issue }]
        }),
      [
        {
          rule: `self.all(k, !k.startsWith('${reservedLabelPrefix}') && !(k in [${reservedLabelKeys.map((k) => `'${k}'`).join(", ")}]))`,
          message:
            `must not set Cartographer's labels (${reservedLabelPrefix}*, ${reservedLabelKeys.join(", ")}): ` +
            "its selectors rely on the values it sets",
        },
      ],
    ),
  )

const podAnnotations = (description: string) =>
  Schema.Record(Schema.String, Schema.String)
    .annotate({ description })
    .check(Schema.isMaxProperties(maxLabels, { message: `must have at most ${maxLabels} annotations` }))

// ---- the fields, as each component states them ------------------------------------------------------------------

/**
 * The placement fields of a component, or of the Workspace (its defaults). Spread into a struct. A component's
 * `nodeSelector`, `tolerations`, `affinity`, `topologySpreadConstraints` and `priorityClassName` replace the
 * Workspace's when set (an empty one clears it); `podLabels` and `podAnnotations` are merged key by key, the
 * component's winning.
 */
export const placementFields = (scope: "workspace" | "component") => {
  const workspace = scope === "workspace"
  const pods = workspace ? "Every pod of the Workspace" : "The component's pods"
  const replaces = workspace ? ", unless its component sets its own" : "; replaces the Workspace's"
  return {
    nodeSelector: Schema.optionalKey(
      labelMap(`Node labels ${workspace ? "every pod" : "the pods"} must match${replaces} (\`{}\` clears it).`),
    ),
    tolerations: Schema.optionalKey(
      tolerations(`${pods}: the taints they tolerate, as in a pod spec${replaces} (\`[]\` clears them).`),
    ),
    affinity: Schema.optionalKey(Affinity.annotate({ description: `${pods}: node and pod affinity${replaces}.` })),
    topologySpreadConstraints: Schema.optionalKey(
      bounded(
        TopologySpreadConstraint,
        `${pods}: how they spread across zones or nodes${replaces}. A constraint without \`labelSelector\` ` +
          "counts the pods of the component it applies to.",
      ).check(uniqueBy(["topologyKey", "whenUnsatisfiable"], "topology spread constraint")),
    ),
    priorityClassName: Schema.optionalKey(
      SubdomainName.annotate({ description: `${pods}: the name of their PriorityClass${replaces}.` }),
    ),
    podLabels: Schema.optionalKey(
      podLabels(
        `Extra labels of ${workspace ? "every pod" : "the pods"}${workspace ? "" : ", added to the Workspace's"}.`,
      ),
    ),
    podAnnotations: Schema.optionalKey(
      podAnnotations(
        `Extra annotations of ${workspace ? "every pod" : "the pods"}${workspace ? "" : ", added to the Workspace's"} ` +
          "(a service mesh's or a metrics scraper's, say).",
      ),
    ),
  }
}

/** What a component (or the Workspace) states about its pods' placement. */
export interface Placement {
  readonly nodeSelector?: Readonly<Record<string, string>>
  readonly tolerations?: ReadonlyArray<Toleration>
  readonly affinity?: Affinity
  readonly topologySpreadConstraints?: ReadonlyArray<TopologySpreadConstraint>
  readonly priorityClassName?: string
  readonly podLabels?: Readonly<Record<string, string>>
  readonly podAnnotations?: Readonly<Record<string, string>>
}
