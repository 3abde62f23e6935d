// The publishing workflow (.github/workflows/release.yml) cannot run here: what can be checked is that actionlint, as
// `npm run check` runs it, accepts it and would refuse a broken one, and that its steps publish what the release
// test proves (`npm run release` pinned to the digest, the archive copied without changing it).
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ownedTempDir, run } from "@cartographer/test/harness"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const workflow = join(root, ".github", "workflows", "release.yml")
const lint = (...files: Array<string>) =>
  run("bash", [join(root, "scripts", "lint-workflows.sh"), ...files], { timeoutMs: 10 * 60_000 })

interface Workflow {
  readonly on: { readonly push: { readonly tags: ReadonlyArray<string> } }
  readonly jobs: Record<string, { readonly steps: ReadonlyArray<{ readonly run?: string; readonly uses?: string }> }>
}

describe("the publishing workflow", () => {
  it("passes actionlint", async () => {
    const result = await lint()
    expect(result.code, result.stdout + result.stderr).toBe(0)
  }, 600_000)

  it("would fail `npm run check` with an unknown context or action input", async () => {
    const { dir } = await ownedTempDir("cartographer-workflow-")
    const broken = join(dir, "release.yml")
    const text = await readFile(workflow, "utf8")
    await writeFile(broken, text.replace("vars.IMAGE_REPOSITORY", "var.IMAGE_REPOSITORY"))
    const result = await lint(broken)
    expect(result.code).not.toBe(0)
    expect(result.stdout).toContain('undefined variable "var"')
    await writeFile(broken, text.replace("node-version: 24", "node-versio: 24"))
    expect((await lint(broken)).stdout).toContain('input "node-versio" is not defined')
  }, 600_000)

  it("on a version tag, pins the zip to the image's digest, pushes the archive unchanged and attaches all three files", async () => {
    const parsed = parse(await readFile(workflow, "utf8")) as Workflow
    expect(parsed.on.push.tags).toEqual(["v*"])
    const steps = Object.values(parsed.jobs).flatMap((job) => job.steps.map((s) => s.run ?? ""))
    const script = steps.join("\n")
    expect(script).toMatch(/npm run release -- --image "\$IMAGE_REPOSITORY:\$\{GITHUB_REF_NAME#v\}" --pin-digest/u)
    expect(script).toMatch(
      /skopeo copy --all --preserve-digests "oci-archive:release\/cartographer-\$version-image\.tar"/u,
    )
    expect(script).toContain('grep -q "digest: $pushed"')
    expect(script).toMatch(/gh release (create|upload) "\$GITHUB_REF_NAME" release\/\*/u)
  })
})
