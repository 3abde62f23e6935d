import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeStrings } from "../../src/engine/Strings.js"

const liveObject = (name: string, uid: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name,
    namespace: "team",
    uid,
    resourceVersion: `rv-${uid}`,
    creationTimestamp: "2026-01-01T00:00:00Z",
    labels: { "app.kubernetes.io/managed-by": "cartographer" },
  },
  spec: { template: { spec: { containers: [{ name: "server", image: "prefecthq/prefect:3", args: ["a", "b"] }] } } },
})

describe("shared strings of cached objects", () => {
  it("leaves every value as it was", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const copy = structuredClone(value)
        expect(makeStrings().share(value)).toEqual(copy)
      }),
    )
  })

  it("keeps one table entry per repeated value, never the values unique to each object", () => {
    const strings = makeStrings()
    strings.share(liveObject("a", "uid-1"))
    const after = strings.size()
    strings.share(liveObject("a", "uid-2"))
    expect(strings.size(), "the second object repeats every shared value").toBe(after)
    strings.share(liveObject("other", "uid-3"))
    expect(strings.size(), "only the new name is new").toBe(after + 1)
  })

  it("clears the table when it reaches its limit, so that strings of deleted objects are not kept for ever", () => {
    const strings = makeStrings(10)
    for (let i = 0; i < 25; i++) strings.share({ metadata: { name: `object-${i}` } })
    expect(strings.size()).toBeLessThanOrEqual(10)
  })
})
