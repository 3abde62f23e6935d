/**
 * Kubernetes resource quantities (`16Gi`, `500m`, `1.5`, `2e3`), as `resource.Quantity` accepts them.
 *
 * YAML authors write `cpu: 1` as often as `cpu: "1"`, so the encoded form is a string or a non-negative integer
 * (the CRD lowers this to `x-kubernetes-int-or-string`); the decoded form is always the string.
 */
import { Schema, SchemaGetter } from "effect"

/** The grammar of `k8s.io/apimachinery/pkg/api/resource.Quantity` (sign, number, then a suffix or exponent). */
export const quantityPattern =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/u

const binarySuffix: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
}
const decimalSuffix: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
}

/**
 * The numeric value of a quantity (bytes for memory, cores for CPU), or `undefined` when it does not parse.
 * Good enough for comparisons and sanity checks; not for exact arithmetic on huge values.
 */
export const quantityValue = (quantity: string): number | undefined => {
  if (!quantityPattern.test(quantity)) return undefined
  const match = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/u.exec(quantity)
  if (match === null) return undefined
  const suffix = match[2] ?? ""
  const factor =
    binarySuffix[suffix] ?? decimalSuffix[suffix] ?? (/^[eE]/u.test(suffix) ? 10 ** Number(suffix.slice(1)) : undefined)
  return factor === undefined ? undefined : Number(match[1]) * factor
}

/** The same grammar without a minus sign: what a size or a resource request may be (also enforced by the CRD). */
export const nonNegativeQuantityPattern = new RegExp(quantityPattern.source.replace("^(\\+|-)?", "^\\+?"), "u")

const QuantityString = Schema.String.check(
  Schema.isPattern(nonNegativeQuantityPattern, {
    message:
      "must be a non-negative Kubernetes quantity such as 16Gi, 500Mi, 250m or 2 (a number with an optional unit suffix)",
  }),
)

/** What a quantity field may say about itself in the CRD and JSON Schema. */
export type QuantityAnnotations = { readonly description?: string; readonly default?: string }

/**
 * A non-negative Kubernetes quantity; integers are accepted on input and become strings. Annotations (description,
 * default) go on the encoded side, which is what the CRD and JSON Schema describe.
 */
export const quantity = (annotations: QuantityAnnotations = {}) =>
  Schema.Union([QuantityString, Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))])
    .annotate(annotations)
    .pipe(
      Schema.decodeTo(QuantityString, {
        decode: SchemaGetter.transform((value: string | number) => String(value)),
        encode: SchemaGetter.transform((value: string) => value),
      }),
    )

export const Quantity = quantity()
export type Quantity = typeof Quantity.Type

/**
 * Whether a non-negative quantity is above zero: a non-zero digit in its number, whatever its suffix or exponent.
 * Exact where the value as a JavaScript number is not: `1e-400` underflows to 0, yet the API server rounds it up
 * to the smallest unit (found by the fuzz suite).
 */
const isAboveZero = (quantity: string): boolean => /[1-9]/u.test(/^\+?([0-9.]*)/u.exec(quantity)?.[1] ?? "")

/** A quantity that must be greater than zero (a volume size). */
export const positiveQuantity = (annotations: QuantityAnnotations = {}) =>
  quantity(annotations).check(
    Schema.makeFilter((s: string) => (isAboveZero(s) ? undefined : "must be greater than zero, e.g. 16Gi")),
  )
