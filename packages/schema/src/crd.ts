/**
 * The Workspace CRD and the editor JSON Schema, generated from the Schema in `Workspace.ts` (the single source).
 *
 * Effect emits draft-2020-12 JSON Schema; Kubernetes wants a *structural* OpenAPI v3 schema. `toStructural`
 * lowers one into the other (see ../../docs/adr/0002-crd-from-effect-schema.md) and fails loudly on anything it
 * cannot express, so that a Schema change can never silently produce a CRD that validates less than the decoder.
 */
import { JsonSchema, Schema } from "effect"
import { crossFieldRules } from "./crossField.js"
import { maxLabelLength, maxWorkspaceNameLength } from "./nameRules.js"
import { maxResources } from "./Resources.js"
import { apiVersion, group, kind, plural, version, Workspace, WorkspaceSpec } from "./Workspace.js"
import { WorkspaceStatus } from "./WorkspaceStatus.js"

type Json = { [key: string]: unknown }

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** Schema keywords that constrain a value; allowed inside `allOf` of a structural schema. */
const validationKeywords = new Set([
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "enum",
  "format",
  "multipleOf",
])
/** Annotation keywords that must sit on the node itself, never in `allOf`. */
const annotationKeywords = new Set(["description", "default", "title"])

const jsonSchemaOf = (schema: Schema.Top): Json =>
  Schema.toJsonSchemaDocument(schema, { referencePolicy: () => undefined } as never).schema as Json

/**
 * Lowers a draft-2020-12 node (as Effect emits it) to a structural OpenAPI v3 node.
 * `path` is only for error messages.
 */
export const toStructural = (node: Json, path = "$"): Json => {
  const out: Json = {}
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case "$ref":
      case "$defs":
      case "prefixItems":
      case "uniqueItems":
        throw new Error(`${path}: "${key}" cannot be expressed in a structural CRD schema`)
      case "const":
        out.enum = [value]
        break
      case "additionalProperties":
        // `true` is Effect's default for structs and is implied by Kubernetes; `false` and a schema next to
        // `properties` are rejected by the API server.
        if (value === true) break
        if (value === false) throw new Error(`${path}: additionalProperties: false is not allowed in a CRD`)
        out.additionalProperties = toStructural(value as Json, `${path}.*`)
        break
      case "properties":
        out.properties = Object.fromEntries(
          Object.entries(value as Json).map(([k, v]) => [k, toStructural(v as Json, `${path}.${k}`)]),
        )
        break
      case "items":
        out.items = toStructural(value as Json, `${path}[]`)
        break
      case "allOf":
        mergeAllOf(out, value as Array<Json>, path)
        break
      case "anyOf":
        Object.assign(out, lowerAnyOf(value as Array<Json>, path))
        break
      case "minimum":
      case "maximum":
        // Kept as they are, Schema.Int's ±(2^53 - 1) included: the API server stores int64, and an integer beyond
        // JavaScript's safe range would be accepted there and then fail to decode in the operator.
        out[key] = value
        break
      default:
        out[key] = value
    }
  }
  if (out.type === undefined && out["x-kubernetes-int-or-string"] === undefined) {
    throw new Error(`${path}: every node of a structural schema needs a type`)
  }
  return out
}

/** Adds CEL rules to a node, after those it has. */
const addValidations = (node: Json, rules: ReadonlyArray<Json>): void => {
  node["x-kubernetes-validations"] = [
    ...((node["x-kubernetes-validations"] as Array<Json> | undefined) ?? []),
    ...rules,
  ]
}

/**
 * `allOf` from chained checks: annotations move up to the node; compatible constraints are merged into it; the
 * Kubernetes extensions a filter emits (`cel.ts`: CEL rules, list-map markers) move up to the node too.
 */
const mergeAllOf = (out: Json, entries: Array<Json>, path: string): void => {
  const rest: Array<Json> = []
  for (const entry of entries) {
    const kept: Json = {}
    for (const [key, value] of Object.entries(entry)) {
      if (key === "x-kubernetes-validations") addValidations(out, value as Array<Json>)
      else if (key.startsWith("x-kubernetes-")) out[key] = value
      else if (annotationKeywords.has(key)) out[key] = value
      else if (!validationKeywords.has(key)) throw new Error(`${path}: "${key}" inside allOf is not structural`)
      else if (out[key] === undefined && !rest.some((r) => r[key] !== undefined)) out[key] = value
      else if (JSON.stringify(out[key]) !== JSON.stringify(value)) kept[key] = value
    }
    if (Object.keys(kept).length > 0) rest.push(kept)
  }
  if (rest.length > 0) out.allOf = [...((out.allOf as Array<Json> | undefined) ?? []), ...rest]
}

/** Keywords that constrain only numbers, and only strings: on an int-or-string node each applies to its own kind. */
const numberKeywords = new Set(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"])
const stringKeywords = new Set(["pattern", "minLength", "maxLength", "format"])

/** The only unions the Workspace uses: a quantity (string or integer) and `X | null`. */
const lowerAnyOf = (members: Array<Json>, path: string): Json => {
  const types = members.map((m) => m.type)
  if (members.length === 2 && types.includes("string") && types.includes("integer")) {
    // Structural schemas allow exactly `anyOf: [{type: integer}, {type: string}]` here, so both members'
    // constraints move up to the node, where JSON Schema applies each to its own kind of value: the integer's
    // bounds (e.g. `minimum: 0`) to integers, the string's pattern to strings.
    const constraintsOf = (type: string, allowed: ReadonlySet<string>) => {
      const { type: _, ...constraints } = toStructural(members.find((m) => m.type === type) as Json, path)
      for (const key of Object.keys(constraints))
        if (!allowed.has(key) && !annotationKeywords.has(key))
          throw new Error(`${path}: "${key}" on the ${type} side of an int-or-string cannot be kept apart`)
      return constraints
    }
    return {
      anyOf: [{ type: "integer" }, { type: "string" }],
      "x-kubernetes-int-or-string": true,
      ...constraintsOf("string", stringKeywords),
      ...constraintsOf("integer", numberKeywords),
    }
  }
  const nonNull = members.filter((m) => m.type !== "null")
  if (nonNull.length === 1 && members.length === 2) return { ...toStructural(nonNull[0] as Json, path), nullable: true }
  throw new Error(`${path}: this union (${JSON.stringify(types)}) cannot be expressed in a structural CRD schema`)
}

/** Marks lists whose items are keyed, so that the API server rejects duplicates and SSA merges per item. */
const keyedList = (node: Json, key: string): Json => ({
  ...node,
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": [key],
})

const at = (node: Json, ...keys: Array<string>): Json =>
  keys.reduce<Json>((n, k) => {
    const next = (n.properties as Json | undefined)?.[k]
    if (!isObject(next)) throw new Error(`no property ${keys.join(".")}`)
    return next
  }, node)

const setAt = (node: Json, keys: Array<string>, update: (n: Json) => Json): void => {
  const parent = at(node, ...keys.slice(0, -1))
  const last = keys[keys.length - 1] as string
  ;(parent.properties as Json)[last] = update(at(node, ...keys))
}

/** CEL: an extended resource (`isExtendedResource` in Resources.ts). */
const celExtended = (k: string) => `(${k}.contains('/') && !${k}.contains('kubernetes.io/'))`

/** The CEL twins of the `Resources` filter in Resources.ts, on one list and on the pair. */
const resourceListRules = (): Array<Json> => [
  {
    rule: "self.all(k, k.contains('/') || k in ['cpu', 'memory', 'ephemeral-storage'] || k.startsWith('hugepages-'))",
    message:
      "resource names are cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource with a domain, such as nvidia.com/gpu",
  },
  {
    rule: `self.all(k, !${celExtended("k")} || string(self[k]).matches('^[0-9]+$'))`,
    message: "extended resources (such as nvidia.com/gpu) must be whole numbers such as 1 or 2",
  },
]
const request = "quantity(string(self.requests[k]))"
const limit = "quantity(string(self.limits[k]))"
const resourcesRule = (): Json => ({
  rule:
    `!has(self.requests) || self.requests.all(k, (k.startsWith('hugepages-') || ${celExtended("k")}) ` +
    `? (has(self.limits) && k in self.limits && ${request}.compareTo(${limit}) == 0) ` +
    `: (!has(self.limits) || !(k in self.limits) || !${request}.isGreaterThan(${limit})))`,
  message:
    "every request must be at most its limit, and hugepages and extended resources (never overcommitted) need a limit equal to the request",
  fieldPath: ".requests",
})

/** Adds the resource rules to every `resources` (an object of `requests` and `limits`) under `node`. */
const withResourceRules = (node: Json): number => {
  let found = 0
  const properties = node.properties
  if (isObject(properties)) {
    if (isObject(properties.requests) && isObject(properties.limits)) {
      // Fresh objects for every place: the YAML writer would otherwise print shared ones as anchors and aliases.
      addValidations(node, [resourcesRule()])
      for (const list of [properties.requests, properties.limits]) {
        list.maxProperties = maxResources
        addValidations(list, resourceListRules())
      }
      return 1
    }
    for (const child of Object.values(properties)) if (isObject(child)) found += withResourceRules(child)
  }
  if (isObject(node.items)) found += withResourceRules(node.items)
  return found
}

/** The `openAPIV3Schema` of the CRD. */
export const workspaceOpenApiSchema = (): Json => {
  const spec = toStructural(jsonSchemaOf(WorkspaceSpec), "spec")
  setAt(spec, ["workflows", "agentPools"], (n) => keyedList(n, "name"))
  const status = toStructural(jsonSchemaOf(WorkspaceStatus), "status")
  setAt(status, ["conditions"], (n) => keyedList(n, "type"))
  setAt(status, ["pools"], (n) => keyedList(n, "name"))
  // Filters the decoder runs in TypeScript, expressed in CEL so that the API server refuses the same objects.
  if (withResourceRules(spec) < 5)
    throw new Error("expected the server's, database's, redis', pools' and their Jobs' resources")
  setAt(spec, ["workflows", "storageQuota"], (n) => ({
    ...n,
    "x-kubernetes-validations": [
      { rule: "quantity(string(self)).isGreaterThan(quantity('0'))", message: "must be greater than zero, e.g. 16Gi" },
    ],
  }))
  for (const [path, rules] of crossFieldRules) {
    const node = at(spec, ...path)
    node["x-kubernetes-validations"] = [...((node["x-kubernetes-validations"] as Array<Json>) ?? []), ...rules]
  }
  const lastTransition = at(status, "conditions").items as Json
  ;((lastTransition.properties as Json).lastTransitionTime as Json).format = "date-time"
  return {
    type: "object",
    description: Workspace.ast.annotations?.description,
    required: ["spec"],
    properties: {
      apiVersion: { type: "string", description: "APIVersion of this object: mlops.aigency.com/v1alpha1." },
      kind: { type: "string", description: "Kind of this object: Workspace." },
      // The API server allows a CRD schema to say only this much about metadata; declaring `name` lets the rule
      // below report its error at `metadata.name`.
      metadata: { type: "object", properties: { name: { type: "string" } } },
      spec,
      status,
    },
    // Rules that need the object's name (only `metadata.name` is visible to CEL at the root).
    "x-kubernetes-validations": [
      {
        rule: `size(self.metadata.name) <= ${maxWorkspaceNameLength} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')`,
        message: `metadata.name must be a DNS-1035 label of at most ${maxWorkspaceNameLength} characters (lowercase letters, digits and '-', starting with a letter), so that every derived object name and its pods' labels fit in 63 characters`,
        fieldPath: ".metadata.name",
        reason: "FieldValueInvalid",
      },
      {
        rule: `self.spec.workflows.agentPools.all(p, size(self.metadata.name) + size(p.name) + 7 <= ${maxLabelLength})`,
        message: "every <workspace>-agent-<pool> name must fit in 63 characters: shorten the pool or Workspace name",
        fieldPath: ".spec.workflows.agentPools",
        reason: "FieldValueInvalid",
      },
    ],
  }
}

/** The CustomResourceDefinition for Workspaces, ready to apply. */
export const workspaceCrd = (): Json => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: `${plural}.${group}`,
    labels: { "app.kubernetes.io/name": "cartographer", "app.kubernetes.io/part-of": "cartographer" },
  },
  spec: {
    group,
    scope: "Namespaced",
    names: {
      kind,
      listKind: `${kind}List`,
      plural,
      singular: "workspace",
      shortNames: ["ws"],
      categories: ["cartographer"],
    },
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
          {
            name: "Reason",
            type: "string",
            jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
            priority: 1,
          },
          { name: "Server", type: "string", jsonPath: ".status.serverUrl" },
          { name: "Pools", type: "string", jsonPath: ".spec.workflows.agentPools[*].name" },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
        schema: { openAPIV3Schema: workspaceOpenApiSchema() },
      },
    ],
  },
})

/** A JSON Schema without the CRD-only `x-kubernetes-*` keywords filters emit (`cel.ts`), and `allOf`s left empty. */
const withoutKubernetesExtensions = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutKubernetesExtensions)
  if (!isObject(node)) return node
  const out: Json = {}
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("x-kubernetes-")) continue
    const kept = withoutKubernetesExtensions(value)
    if (key === "allOf" && Array.isArray(kept)) {
      const entries = kept.filter((entry) => !isObject(entry) || Object.keys(entry).length > 0)
      if (entries.length > 0) out[key] = entries
    } else out[key] = kept
  }
  return out
}

/**
 * JSON Schema (draft-07, which editors such as the YAML language server read) of a Workspace document, for
 * `# yaml-language-server: $schema=...` comments. It describes the file a user writes: defaults shown, nothing
 * required that has a default.
 */
export const workspaceJsonSchema = (): Json => {
  const document = JsonSchema.toDocumentDraft07(
    Schema.toJsonSchemaDocument(Workspace, { referencePolicy: () => undefined } as never) as never,
  )
  const schema = withoutKubernetesExtensions(document.schema) as Json
  const properties = schema.properties as Json
  properties.apiVersion = { type: "string", enum: [apiVersion], description: "Always mlops.aigency.com/v1alpha1." }
  properties.kind = { type: "string", enum: [kind], description: "Always Workspace." }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://cartographer.aigency.com/schemas/workspace.schema.json",
    title: "Cartographer Workspace",
    ...schema,
  }
}
