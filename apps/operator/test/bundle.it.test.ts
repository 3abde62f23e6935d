// The single-file bundle: built from the current sources, copied alone into a temp directory (no node_modules
// anywhere above it) and run on plain Node 24, and on an older Node when the machine has one.
import { existsSync } from "node:fs"
import { access, readFile } from "node:fs/promises"
import { delimiter, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { run } from "@cartographer/test/harness"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nodeMajorOf } from "../src/version.js"
import { type Bundle, buildBundle, runCli, startCli } from "./support/processes.js"

const sample = fileURLToPath(new URL("../../../samples/basic-workspace.yaml", import.meta.url))

/** A `node` on the PATH older than the one the CLI needs (the system's, below the one npm scripts run), if any. */
const olderNode = async (required: number): Promise<string | undefined> => {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "node")
    if (dir === "" || !existsSync(candidate)) continue
    const { stdout } = await run(candidate, ["--version"])
    if (nodeMajorOf(stdout) < required) return candidate
  }
  return undefined
}
let bundle: Bundle

beforeAll(async () => {
  bundle = await buildBundle()
  process.stderr.write(`[bundle] ${(bundle.bytes / 2 ** 20).toFixed(2)} MiB\n`)
}, 120_000)
afterAll(() => bundle?.remove())

describe("the cartographer bundle", () => {
  it("is one file with no node_modules beside or above it", async () => {
    let dir = dirname(bundle.path)
    for (;;) {
      await expect(access(join(dir, "node_modules"))).rejects.toThrow()
      const parent = dirname(dir)
      if (parent === dir) break
      dir = parent
    }
  })

  it("prints its version and the commands", async () => {
    const version = await runCli(bundle.path, ["version"])
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^cartographer \d+\.\d+\.\d+/u)
    const help = await runCli(bundle.path, ["--help"])
    expect(help.stdout).toContain("run ")
    expect(help.stdout).toContain("diff ")
    expect(help.stdout).toContain("plan ")
  })

  it("plans the basic sample offline", async () => {
    const { code, stdout } = await runCli(bundle.path, ["plan", "-f", sample, "--omit-secret"])
    expect(code).toBe(0)
    expect(stdout).toContain('name: "test-environment-orion-server"')
  })

  it("starts the operator, and exits 1 with one JSON line when the cluster cannot be reached", async () => {
    const started = Date.now()
    const cli = startCli(bundle.path, "no-cluster", [
      "run",
      "--kubeconfig=/nonexistent/kubeconfig",
      "--health-probe-bind-address=127.0.0.1:0",
      "--metrics-bind-address=127.0.0.1:0",
    ])
    const { code } = await cli.exited
    process.stderr.write(`[bundle] start to fatal exit: ${Date.now() - started} ms\n`)
    expect(code).toBe(1)
    const fatal = cli.logs.find((l) => l.msg === "fatal")
    expect(fatal?.level).toBe("error")
    expect(String(fatal?.error)).toContain("/nonexistent/kubeconfig")
  })

  it("exits 2 on a configuration error, before starting anything", async () => {
    const { code, stderr } = await runCli(bundle.path, ["run", "--log-format", "xml"])
    expect(code).toBe(2)
    expect(stderr).toContain("--log-format")
  })

  it("refuses an older Node.js in one line naming the version it needs, before loading any command", async (ctx) => {
    const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as {
      engines: { node: string }
    }
    const required = nodeMajorOf(manifest.engines.node)
    const old = await olderNode(required)
    if (old === undefined) ctx.skip()
    for (const args of [["version"], ["plan", "-f", sample]]) {
      const { code, stdout, stderr } = await run(old ?? "", [bundle.path, ...args])
      expect(code).toBe(2)
      expect(stdout).toBe("")
      expect(stderr).toMatch(
        new RegExp(`^cartographer needs Node\\.js ${required} or newer; this is Node\\.js \\d+\\.\\d+\\.\\d+\\n$`, "u"),
      )
    }
  })
})
