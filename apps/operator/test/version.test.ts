// The Node.js the CLI needs, read from where it is stated (engines.node), and the one line an older one gets.
import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { nodeMajorOf, unsupportedNode, version } from "../src/version.js"

describe("the CLI's version and runtime", () => {
  it("reads its version and the Node.js major it needs from its package.json", async () => {
    const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string
      engines: { node: string }
    }
    expect(version).toBe(manifest.version)
    expect(unsupportedNode(`${nodeMajorOf(manifest.engines.node)}.0.0`)).toBeUndefined()
    expect(unsupportedNode(`${nodeMajorOf(manifest.engines.node) - 1}.9.0`)).toContain(
      `needs Node.js ${nodeMajorOf(manifest.engines.node)} or newer`,
    )
  })

  it("refuses an older Node.js in one line naming the version it needs and the one it got", () => {
    const message = unsupportedNode("20.20.2", 24)
    expect(message).toBe("cartographer needs Node.js 24 or newer; this is Node.js 20.20.2")
    expect(message).not.toContain("\n")
    expect(unsupportedNode("24.0.0", 24)).toBeUndefined()
    expect(unsupportedNode("26.1.0", 24)).toBeUndefined()
  })
})
