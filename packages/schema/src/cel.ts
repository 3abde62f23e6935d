/**
 * Filters that carry their own twin for the API server: a check the decoder runs in TypeScript, and the CEL rule (or
 * list-map marker) that makes the CRD refuse the same objects. Both are written next to each other, in the module of
 * the concept they check; `crd.ts` lifts what `toJsonSchema` emits onto the node the filter is attached to.
 *
 * CEL rules are estimated by the API server before the CRD is admitted (a cost budget per rule and per CRD): rules
 * here compare against constants and test presence, never run a regular expression or a string function on a value
 * of unbounded length, and every list they iterate has a `maxItems`.
 */
import { Schema } from "effect"

/** One `x-kubernetes-validations` entry. `fieldPath` (relative, e.g. `.value`) must name a declared field. */
export interface CelRule {
  readonly rule: string
  readonly message: string
  readonly fieldPath?: string
}

type Check<T> = (value: T) => Schema.FilterOutput

/** A filter and the CEL rules that make the API server refuse exactly what it refuses. */
export const celFilter = <T>(check: Check<T>, rules: ReadonlyArray<CelRule>) =>
  Schema.makeFilter<T>((value) => check(value), {
    // Fresh objects on every call: the YAML writer would print shared ones as anchors and aliases.
    toJsonSchema: () => ({ "x-kubernetes-validations": rules.map((r) => ({ ...r })) }) as never,
  })

/** A rule on one field, as a Schema issue at that field and the CEL rule that is its twin. */
export interface FieldRule<T> {
  readonly issue: (value: T) => { readonly path: ReadonlyArray<PropertyKey>; readonly issue: string } | undefined
  readonly rule: CelRule
}

interface FieldRuleOptions<T> {
  readonly field: keyof T & string
  /** The Schema issue at `field`. */
  readonly reason: string
  /**
   * Whether the CEL message starts with the field's name (default true). The rules written without it before these
   * helpers keep their published messages.
   */
  readonly fieldInMessage?: boolean
}

const fieldRule = <T>(options: FieldRuleOptions<T>, refused: (value: T) => boolean, rule: string): FieldRule<T> => {
  const { field, reason } = options
  return {
    issue: (value) => (refused(value) ? { path: [field], issue: reason } : undefined),
    rule: {
      rule,
      message: options.fieldInMessage === false ? reason : `${field} ${reason}`,
      fieldPath: `.${field}`,
    },
  }
}

const asFilter = <T>({ issue, rule }: FieldRule<T>) => celFilter(issue, [rule])

/**
 * "`field` applies only when a condition holds": refused when it is set and the condition (`holds`, and `cel` its CEL
 * twin on the same node) is false. CEL: `!has(self.<field>) || <cel>`.
 */
export const fieldOnlyWhen = <T>(
  options: FieldRuleOptions<T> & { readonly holds: (value: T) => boolean; readonly cel: string },
): FieldRule<T> =>
  fieldRule(
    options,
    (value) => value[options.field] !== undefined && !options.holds(value),
    `!has(self.${options.field}) || ${options.cel}`,
  )

/** `fieldOnlyWhen` as a filter on the struct that holds the field. */
export const onlyWhen = <T>(options: Parameters<typeof fieldOnlyWhen<T>>[0]) => asFilter(fieldOnlyWhen(options))

/** "`field` must not be set with `other`": refused when both are. CEL: `!has(self.<other>) || !has(self.<field>)`. */
export const fieldNotWith = <T>(options: FieldRuleOptions<T> & { readonly other: keyof T & string }): FieldRule<T> =>
  fieldRule(
    options,
    (value) => value[options.field] !== undefined && value[options.other] !== undefined,
    `!has(self.${options.other}) || !has(self.${options.field})`,
  )

/** `fieldNotWith` as a filter on the struct that holds both fields. */
export const notWith = <T>(options: Parameters<typeof fieldNotWith<T>>[0]) => asFilter(fieldNotWith(options))

/**
 * Items unique by the fields `keys` (a Kubernetes list-map): the decoder reports each duplicate at its index, and the
 * CRD marks the list `x-kubernetes-list-type: map` so that the API server refuses duplicates and server-side apply
 * merges per item.
 */
export const uniqueBy = <A extends object>(keys: ReadonlyArray<keyof A & string>, what: string) =>
  Schema.makeFilter<ReadonlyArray<A>>(
    (items) => {
      const seen = new Set<string>()
      const issues: Array<Schema.FilterIssue> = []
      items.forEach((item, index) => {
        const key = JSON.stringify(keys.map((k) => item[k]))
        if (seen.has(key))
          issues.push({
            path: [index],
            issue: `duplicate ${what} (${keys.map((k) => `${k}=${String(item[k])}`).join(", ")}): each must be unique`,
          })
        seen.add(key)
      })
      return issues
    },
    {
      toJsonSchema: () => ({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [...keys] }) as never,
    },
  )

/** Strings listed at most once (a Kubernetes list-set): the CRD marks the list `x-kubernetes-list-type: set`. */
export const uniqueValues = (what: string) =>
  Schema.makeFilter<ReadonlyArray<string>>(
    (items) =>
      items.flatMap((item, index) =>
        items.indexOf(item) === index
          ? []
          : [{ path: [index], issue: `duplicate ${what} "${item}": each must be unique` }],
      ),
    { toJsonSchema: () => ({ "x-kubernetes-list-type": "set" }) as never },
  )
