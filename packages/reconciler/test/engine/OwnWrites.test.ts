import type { KubeObject, Live } from "@cartographer/k8s"
import { describe, expect, it } from "vitest"
import { isNewer, OwnWrites } from "../../src/engine/OwnWrites.js"

const object = (name: string, resourceVersion: string, uid = `uid-${name}`): Live<KubeObject> => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "ns", uid, resourceVersion },
})

describe("resourceVersion order", () => {
  it("compares decimal resourceVersions by length, then lexically (never as floating-point numbers)", () => {
    expect(isNewer("10", "9")).toBe(true)
    expect(isNewer("9", "10")).toBe(false)
    expect(isNewer("18446744073709551615", "18446744073709551614")).toBe(true)
    expect(isNewer("5", "5")).toBe(false)
  })

  it("never calls an opaque resourceVersion newer (the cache is trusted)", () => {
    expect(isNewer("abc", "1")).toBe(false)
    expect(isNewer("2", "x1")).toBe(false)
  })
})

describe("own writes", () => {
  it("shows our write while the cache still has the older object, then the cache once it caught up", () => {
    const writes = new OwnWrites()
    writes.recordWrite("Service", object("a", "20"), "ns/ws")
    expect(writes.view("Service", "ns/a", object("a", "10"))?.metadata.resourceVersion).toBe("20")
    expect(writes.view("Service", "ns/a", undefined)?.metadata.resourceVersion).toBe("20")
    expect(writes.view("Service", "ns/a", object("a", "21"))?.metadata.resourceVersion).toBe("21")
    expect(writes.size()).toBe(0)
  })

  it("recognises the watch event that only echoes our write, and not someone else's later change", () => {
    const writes = new OwnWrites()
    writes.recordWrite("Service", object("a", "20"), "ns/ws")
    expect(writes.observe("Service", "MODIFIED", object("a", "20"))).toBe(true)
    writes.recordWrite("Service", object("a", "30"), "ns/ws")
    expect(writes.observe("Service", "MODIFIED", object("a", "31"))).toBe(false)
    expect(writes.size()).toBe(0)
  })

  it("keeps our write across an older event still in flight", () => {
    const writes = new OwnWrites()
    writes.recordWrite("Service", object("a", "20"), "ns/ws")
    expect(writes.observe("Service", "MODIFIED", object("a", "15"))).toBe(false)
    expect(writes.view("Service", "ns/a", object("a", "15"))?.metadata.resourceVersion).toBe("20")
  })

  it("hides an object we deleted until its DELETED event, which it does not queue", () => {
    const writes = new OwnWrites()
    const gone = object("old", "5")
    writes.recordDelete("Service", gone)
    expect(writes.view("Service", "ns/old", gone)).toBeUndefined()
    expect(writes.view("Service", "ns/old", object("old", "9", "a-new-uid"))?.metadata.uid).toBe("a-new-uid")
    expect(writes.observe("Service", "DELETED", gone)).toBe(true)
    expect(writes.size()).toBe(0)
  })

  it("lists a Workspace's writes of one kind, and forgets them all when the Workspace is gone", () => {
    const writes = new OwnWrites()
    writes.recordWrite("Service", object("a", "1"), "ns/ws")
    writes.recordWrite("Service", object("b", "2"), "ns/other")
    writes.recordWrite("Deployment", object("c", "3"), "ns/ws")
    expect(writes.writtenFor("Service", "ns/ws").map((o) => o.metadata.name)).toEqual(["a"])
    writes.forgetOwner("ns/ws")
    expect(writes.writtenFor("Service", "ns/ws")).toEqual([])
    expect(writes.writtenFor("Deployment", "ns/ws")).toEqual([])
    expect(writes.size()).toBe(1)
  })
})
