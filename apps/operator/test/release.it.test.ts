// `npm run release`: the zip users unpack, as the README and INSTALL.md describe it, the operator image beside it as an
// OCI archive, and SHA256SUMS; read with the tools a team uses (sha256sum, unzip, tar, skopeo).
import { createHash } from "node:crypto"
import { readdir, readFile, rm } from "node:fs/promises"
import { join } from "node:path"
import { ownedTempDir, type Release, run, runRelease, unpackRelease } from "@cartographer/test/harness"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse } from "yaml"

const minutes = (n: number) => n * 60_000
const sha256 = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`

const releases: Array<Release> = []
const release = async (...options: Parameters<typeof runRelease>) => {
  const made = await runRelease(...options)
  releases.push(made)
  return made
}

/** The zip unpacked into an empty folder: its file names and a reader. */
const unpacked = async (made: Release) => {
  const { dir } = await ownedTempDir("cartographer-unpacked-")
  const into = join(dir, "cartographer")
  await unpackRelease(made.zip, into)
  const text = (name: string) => readFile(join(into, name), "utf8")
  const names = (await readdir(into, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(into.length + 1))
  const kustomization = async () =>
    (parse(await text("install/kustomization.yaml")) as { images: Array<Record<string, string>> }).images
  return { names, text, kustomization, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** A file of the OCI archive, as `tar -xO` reads it. */
const archived = async (archive: string, name: string) => {
  const result = await run("tar", ["-xOf", archive, name])
  if (result.code !== 0) throw new Error(`tar -xOf ${archive} ${name}: ${result.stderr}`)
  return JSON.parse(result.stdout) as unknown
}

const skopeo = async (args: ReadonlyArray<string>) => {
  const result = await run("skopeo", args, { timeoutMs: minutes(2) })
  if (result.code !== 0) throw new Error(`skopeo ${args.join(" ")}: ${result.stderr}`)
  return result.stdout
}

/** The image's digest as skopeo reads it from the archive: that of the index it names. */
const archiveDigest = async (archive: string) => sha256(await skopeo(["inspect", "--raw", `oci-archive:${archive}`]))

let plain: Release

beforeAll(async () => {
  plain = await release()
}, minutes(15))

afterAll(() => Promise.all(releases.map((r) => r.remove())))

describe("the release", () => {
  it("holds install/, samples/, the README and the docs it links to, INSTALL and the CLI, named after the version", async () => {
    const { version } = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version: string
    }
    expect(plain.version).toBe(version)
    expect(plain.zip.endsWith(`cartographer-${version}.zip`)).toBe(true)
    const zip = await unpacked(plain)
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
      expect(zip.names).toContain(name)
    }
    expect(zip.names).not.toContain("docs/INSTALL.md")
    const install = await zip.text("INSTALL.md")
    expect(install).toContain("kubectl apply -k install")
    expect(install).toContain(`cartographer-${version}-image.tar`)
    expect(install).not.toContain("<version>")
    await zip.remove()
  })

  it("writes the zip, the operator image archive and SHA256SUMS for both, which `sha256sum -c` accepts", async () => {
    expect((await readdir(plain.dir)).sort()).toEqual(
      ["SHA256SUMS", `cartographer-${plain.version}-image.tar`, `cartographer-${plain.version}.zip`].sort(),
    )
    const lines = (await readFile(plain.checksums, "utf8")).trimEnd().split("\n")
    expect(lines.map((l) => l.split(/\s+/u)[1]).sort()).toEqual(
      [`cartographer-${plain.version}-image.tar`, `cartographer-${plain.version}.zip`].sort(),
    )
    const checked = await run("sha256sum", ["--check", "--strict", "SHA256SUMS"], { cwd: plain.dir })
    expect(checked.code, checked.stdout + checked.stderr).toBe(0)
  })

  it("names the image in the archive as the zip's kustomization does, for containerd, OCI tools and docker load", async () => {
    const zip = await unpacked(plain)
    expect(await zip.kustomization()).toEqual([
      { name: "cartographer", newName: "cartographer", newTag: plain.version },
    ])
    // Where the kustomization's image goes: the Deployment names the image `cartographer`, nothing else does.
    expect(await zip.text("install/manager/deployment.yaml")).toContain("image: cartographer\n")
    await zip.remove()
    const reference = `docker.io/library/cartographer:${plain.version}`
    const index = (await archived(plain.image, "index.json")) as {
      manifests: Array<{ annotations: Record<string, string> }>
    }
    expect(index.manifests.map((m) => m.annotations)).toEqual([
      { "io.containerd.image.name": reference, "org.opencontainers.image.ref.name": plain.version },
    ])
    // Docker's own image store reads manifest.json: the linux/amd64 image under the same name.
    expect(((await archived(plain.image, "manifest.json")) as Array<{ RepoTags: Array<string> }>)[0]?.RepoTags).toEqual(
      [reference],
    )
    const docker = JSON.parse(await skopeo(["inspect", `docker-archive:${plain.image}`])) as Record<string, unknown>
    expect([docker.Os, docker.Architecture]).toEqual(["linux", "amd64"])
    const oci = JSON.parse(await skopeo(["inspect", "--raw", `oci-archive:${plain.image}`])) as {
      manifests: Array<{ platform: { architecture: string } }>
    }
    expect(oci.manifests.map((m) => m.platform.architecture).sort()).toEqual(["amd64", "arm64"])
  })

  it(
    "with --image and --pin-digest, names that image and pins it to the digest a registry copy keeps",
    async () => {
      const pinned = await release({ image: "registry.example/team/cartographer:9.9.9", pinDigest: true })
      const digest = await archiveDigest(pinned.image)
      const zip = await unpacked(pinned)
      expect(await zip.kustomization()).toEqual([
        { name: "cartographer", newName: "registry.example/team/cartographer", newTag: "9.9.9", digest },
      ])
      await zip.remove()
      expect(pinned.output).toContain(`image digest ${digest}`)
      const index = (await archived(pinned.image, "index.json")) as {
        manifests: Array<{ annotations: Record<string, string> }>
      }
      expect(index.manifests[0]?.annotations["io.containerd.image.name"]).toBe(
        "registry.example/team/cartographer:9.9.9",
      )
      // What `skopeo copy --all --preserve-digests` pushes to a registry (here: an OCI layout) has that digest.
      const { dir } = await ownedTempDir("cartographer-copied-")
      await skopeo(["copy", "--all", "--preserve-digests", `oci-archive:${pinned.image}`, `oci:${dir}/layout:9.9.9`])
      expect(sha256(await skopeo(["inspect", "--raw", `oci:${dir}/layout:9.9.9`]))).toBe(digest)
      await rm(dir, { recursive: true, force: true })
      // The name is not part of the image: the same image as the plain release.
      expect(digest).toBe(await archiveDigest(plain.image))
    },
    minutes(15),
  )

  it("refuses --pin-digest with an --image that names a digest of its own", async () => {
    const refused = runRelease({ image: `registry.example/cartographer@sha256:${"0".repeat(64)}`, pinDigest: true })
    await expect(refused).rejects.toThrow(/--pin-digest: --image .* names a digest already/u)
  })

  it(
    "is reproducible: the same commit gives the same zip and the same image archive, byte for byte",
    async () => {
      const again = await release()
      expect(await readFile(again.checksums, "utf8")).toBe(await readFile(plain.checksums, "utf8"))
    },
    minutes(15),
  )
})
