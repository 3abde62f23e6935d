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

/**
 * Longer than any quantity a person writes. The bound lets the CRD's CEL rules parse quantities (`quantity()`)
 * within the API server's cost budget, which refuses rules over strings of unknown length.
 */
export const maxQuantityLength = 64

/** A non-negative quantity written as text only (`1Gi`), for places whose Schema must hold no transformation. */
export const QuantityString = Schema.String.check(
  Schema.isMaxLength(maxQuantityLength, { message: `must be at most ${maxQuantityLength} characters` }),
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

/** A non-negative quantity as `digits × 10^exponent` nano units: `digits` without trailing zeros (or 0n). */
interface Scaled {
  readonly digits: bigint
  readonly exponent: number
}

const trimmed = (digits: bigint, exponent: number): Scaled => {
  if (digits === 0n) return { digits, exponent: 0 }
  let d = digits
  let e = exponent
  while (d % 10n === 0n) {
    d /= 10n
    e += 1
  }
  return { digits: d, exponent: e }
}

/**
 * A non-negative quantity exactly as the API server holds it (apimachinery's `ParseQuantity`), or `undefined` when
 * it does not parse: in nano units, a fraction of a nano rounded up (`1e-12` is `1n`, as is `1e-11`). CEL's
 * `quantity()` compares these, so the Schema's checks between two quantities agree with the CRD's rules where a
 * JavaScript number would not (`2^53 + 1` against `2^53`). Exponents stay symbolic: `1e999999` builds no big power.
 */
const scaled = (quantity: string): Scaled | undefined => {
  if (!nonNegativeQuantityPattern.test(quantity)) return undefined
  const match = /^\+?([0-9]*)(?:\.([0-9]*))?(.*)$/u.exec(quantity)
  if (match === null) return undefined
  const fraction = match[2] ?? ""
  const suffix = match[3] ?? ""
  let exponent = 9 - fraction.length
  let digits = BigInt(`0${match[1] ?? ""}${fraction}`)
  const binary = binarySuffix[suffix]
  if (binary !== undefined) digits *= BigInt(binary)
  else if (/^[eE]/u.test(suffix)) {
    const power = Number(suffix.slice(1))
    // The API server reads the exponent as a whole number.
    if (!Number.isSafeInteger(power)) return undefined
    exponent += power
  } else exponent += Math.round(Math.log10(decimalSuffix[suffix] as number))
  if (exponent >= 0 || digits === 0n) return trimmed(digits, exponent)
  // Below a nano: round up to whole nanos.
  if (-exponent > digits.toString().length) return { digits: 1n, exponent: 0 }
  const divisor = 10n ** BigInt(-exponent)
  return trimmed((digits + divisor - 1n) / divisor, 0)
}

/**
 * Compares two non-negative quantities as the API server does (see `scaled`): negative when `a` is less, zero when
 * equal, positive when greater; `undefined` when either does not parse.
 */
export const compareQuantities = (a: string, b: string): number | undefined => {
  const x = scaled(a)
  const y = scaled(b)
  if (x === undefined || y === undefined) return undefined
  if (x.digits === 0n || y.digits === 0n) return x.digits === y.digits ? 0 : x.digits === 0n ? -1 : 1
  // Orders of magnitude first; only numbers of one order are brought to a common exponent.
  const xOrder = x.digits.toString().length + x.exponent
  const yOrder = y.digits.toString().length + y.exponent
  if (xOrder !== yOrder) return xOrder < yOrder ? -1 : 1
  const common = Math.min(x.exponent, y.exponent)
  const xs = x.digits * 10n ** BigInt(x.exponent - common)
  const ys = y.digits * 10n ** BigInt(y.exponent - common)
  return xs < ys ? -1 : xs > ys ? 1 : 0
}
