// The sandbox (pause) image every pod of the real node starts from: its user and entrypoint, and that it ends on
// SIGTERM.
import { describe, expect, it } from "vitest"
import { pollUntil } from "../../harness/network.js"
import { output, useImageContainers } from "./imageContainers.js"
import { pauseReference } from "./images.js"

const containers = useImageContainers((ref) => ref === pauseReference)

describe("the pause image", () => {
  it("is /pause as nobody (65535)", () => {
    expect(containers.config(pauseReference)).toMatchObject({ User: "65535:65535", Entrypoint: ["/pause"] })
  })

  it("runs, and ends on SIGTERM (a PID 1 without a handler would ignore it)", async () => {
    expect(output(await containers.runToEnd(pauseReference, ["/pause", "--version"]))).toContain("pause 3.10")
    const pause = await containers.start(pauseReference, ["/pause"])
    await pollUntil("pause to run", async () => ((await pause.running()) ? true : undefined), { timeoutMs: 10_000 })
    const stopped = Date.now()
    await pause.stop("SIGTERM")
    expect(Date.now() - stopped).toBeLessThan(10_000)
  })
})
