import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { compareQuantities } from "../src/Quantity.js"

/** Suffixes with their value in nano units, for an oracle that needs no parsing of its own. */
const nanosPerUnit: Record<string, bigint> = {
  n: 1n,
  u: 1_000n,
  m: 1_000_000n,
  "": 1_000_000_000n,
  k: 10n ** 12n,
  M: 10n ** 15n,
  G: 10n ** 18n,
  Ki: 1024n * 10n ** 9n,
  Mi: 1024n ** 2n * 10n ** 9n,
  Gi: 1024n ** 3n * 10n ** 9n,
}
const suffix = fc.constantFrom(...Object.keys(nanosPerUnit))
const whole = fc.bigInt({ min: 0n, max: 2n ** 64n })
const simple = fc.record({ n: whole, suffix })
const text = ({ n, suffix }: { n: bigint; suffix: string }) => `${n}${suffix}`
const sign = (x: bigint) => (x < 0n ? -1 : x > 0n ? 1 : 0)

/** Any quantity the grammar allows: digits, a fraction, and a suffix or an exponent. */
const anyQuantity = fc
  .tuple(
    fc.stringMatching(/^[0-9]{0,20}$/),
    fc.option(fc.stringMatching(/^[0-9]{0,20}$/), { nil: undefined }),
    fc.oneof(
      suffix,
      fc.integer({ min: -60, max: 60 }).map((e) => `e${e}`),
    ),
  )
  .filter(([w, f]) => w !== "" || (f !== undefined && f !== ""))
  .map(([w, f, s]) => `${w}${f === undefined ? "" : `.${f}`}${s}`)

describe("compareQuantities, as the API server compares quantities", () => {
  it("orders integer quantities with suffixes as their exact value in nano units", () => {
    fc.assert(
      fc.property(simple, simple, (a, b) => {
        const expected = sign(a.n * (nanosPerUnit[a.suffix] as bigint) - b.n * (nanosPerUnit[b.suffix] as bigint))
        expect(compareQuantities(text(a), text(b))).toBe(expected)
      }),
    )
  })

  it("is an order: reflexive, antisymmetric and transitive over every notation", () => {
    fc.assert(
      fc.property(anyQuantity, anyQuantity, anyQuantity, (a, b, c) => {
        expect(compareQuantities(a, a)).toBe(0)
        const ab = compareQuantities(a, b)
        const bc = compareQuantities(b, c)
        expect(ab).toBeDefined()
        expect((ab ?? 0) + (compareQuantities(b, a) ?? 0)).toBe(0)
        if ((ab ?? 0) <= 0 && (bc ?? 0) <= 0) expect(compareQuantities(a, c)).toBeLessThanOrEqual(0)
      }),
    )
  })

  it("sees one value in every notation: milli, exponents, fractions", () => {
    fc.assert(
      fc.property(whole, (n) => {
        expect(compareQuantities(`${n}`, `${n}000m`)).toBe(0)
        expect(compareQuantities(`${n}k`, `${n}e3`)).toBe(0)
        expect(compareQuantities(`${n}.5`, `${n * 1000n + 500n}m`)).toBe(0)
        expect(compareQuantities(`${n}.5`, `${n}.4999`)).toBe(1)
      }),
    )
  })

  it("rounds a fraction of a nano up, as the API server does, and exactly where a float could not", () => {
    expect(compareQuantities("1e-12", "1e-11")).toBe(0)
    expect(compareQuantities("1e-400", "1n")).toBe(0)
    expect(compareQuantities("1e-400", "0")).toBe(1)
    expect(compareQuantities("1.0000000001", "1000000001n")).toBe(0)
    expect(compareQuantities("9007199254740993", "9007199254740992")).toBe(1)
    expect(compareQuantities("1e30", "1e29")).toBe(1)
    expect(compareQuantities("2e999999", "1e1000000")).toBe(-1)
    expect(compareQuantities("1e1.5", "1")).toBeUndefined()
  })
})
