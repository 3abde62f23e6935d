// `cartographer uninstall` offline: what it finds the install by, and its options. Against a real control plane (its
// garbage collector deleting the Workspaces' objects): apps/operator/test/install.it.test.ts.
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { installLabel, runUninstall } from "../src/cli/uninstall.js"
import { capturedIo } from "./support/io.js"

const kustomization = fileURLToPath(new URL("../../../install/kustomization.yaml", import.meta.url))

const run = async (argv: ReadonlyArray<string>) => {
  const { io, output } = capturedIo()
  const code = await runUninstall(argv, io)
  return { code, ...output }
}

describe("cartographer uninstall", () => {
  it("finds what install/ created by the label its kustomization puts on every object", async () => {
    const { labels } = parse(await readFile(kustomization, "utf8")) as {
      labels: Array<{ pairs: Record<string, string> }>
    }
    expect(labels.map((l) => l.pairs[installLabel.key])).toContain(installLabel.value)
  })

  it("rejects a bad --timeout before touching any cluster, and explains itself with --help", async () => {
    const bad = await run(["--timeout=soon", "--kubeconfig=/nonexistent"])
    expect(bad.code).toBe(2)
    expect(bad.err).toContain("--timeout")
    const helped = await run(["--help"])
    expect(helped.code).toBe(0)
    expect(helped.out).toContain("Usage: cartographer uninstall")
    expect(helped.out).toContain("--dry-run")
  })
})
