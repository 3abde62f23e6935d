// `npm run release`: the zip users unpack, as the README and INSTALL.md describe it.
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { unzipSync } from "fflate"
import { afterAll, describe, expect, it } from "vitest"
import { parse } from "yaml"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const dirs: Array<string> = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

type Release = (o: { image?: string; outDir: string }) => Promise<{ path: string; version: string; sha256: string }>
const release = async (options: { image?: string } = {}) => {
  const { release } = (await import(join(root, "scripts", "release.mjs"))) as { release: Release }
  const outDir = await mkdtemp(join(tmpdir(), "cartographer-release-"))
  dirs.push(outDir)
  const result = await release({ ...options, outDir })
  return { ...result, files: unzipSync(new Uint8Array(await readFile(result.path))) }
}

describe("the release zip", () => {
  it("holds install/, samples/, the README and the docs it links to, INSTALL and the CLI, named after the version", async () => {
    const { path, version, files } = await release()
    const { version: expected } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string }
    expect(version).toBe(expected)
    expect(path.endsWith(`cartographer-${expected}.zip`)).toBe(true)
    const names = Object.keys(files)
    for (const name of [
      "install/kustomization.yaml",
      "install/crd/workspaces.mlops.aigency.com.yaml",
      "install/manager/deployment.yaml",
      "samples/basic-workspace.yaml",
      "README.md",
      "INSTALL.md",
      "docs/operations.md",
      "docs/configuration.md",
      "docs/architecture.md",
      "bin/cartographer.mjs",
    ]) {
      expect(names).toContain(name)
    }
    expect(names).not.toContain("docs/INSTALL.md")
    const install = new TextDecoder().decode(files["INSTALL.md"])
    expect(install).toContain("kubectl apply -k install")
    expect(install).toContain(expected)
    expect(install).not.toContain("<version>")
  }, 120_000)

  it("sets the image in install/kustomization.yaml, the one place that names it", async () => {
    const { files } = await release({ image: "registry.example/team/cartographer:9.9.9" })
    const kustomization = parse(new TextDecoder().decode(files["install/kustomization.yaml"])) as {
      images: Array<Record<string, string>>
    }
    expect(kustomization.images).toEqual([
      { name: "cartographer", newName: "registry.example/team/cartographer", newTag: "9.9.9" },
    ])
    const deployment = new TextDecoder().decode(files["install/manager/deployment.yaml"])
    expect(deployment).toContain("image: cartographer\n")
  }, 120_000)

  it("is reproducible: the same sources give the same bytes", async () => {
    const [a, b] = [await release(), await release()]
    expect(a.sha256).toBe(b.sha256)
  }, 120_000)
})
