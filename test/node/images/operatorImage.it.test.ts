// The operator's image (scripts/image/operator.mjs), the one the release ships: two independent builds give the same
// bytes, and it is what the repository's Dockerfile describes (no Docker here: the Dockerfile's text against the
// archive's config and files).
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { beforeAll, describe, expect, it } from "vitest"
import type { buildOperatorImage as BuildOperatorImage } from "../../../scripts/image/operator.mjs"
import type { TarEntry } from "../../../scripts/image/tar.mjs"
import { ownedTempDir } from "../../harness/processes.js"
import { type Archive, layerEntries, readArchive } from "./archive.js"
import { missingPrerequisites } from "./containerd.js"
import { operatorReference, useImageContainers, version } from "./imageContainers.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const operatorModule = join(root, "scripts", "image", "operator.mjs")

const run = promisify(execFile)
const sha256 = async (file: string) =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex")

/** The runtime stage of the Dockerfile: its instructions, continuation lines joined. */
const runtimeStage = async () => {
  const text = await readFile(join(root, "Dockerfile"), "utf8")
  const stage = text.slice(text.search(/^FROM \S+ AS runtime$/mu))
  const lines = stage.replace(/\\\n/gu, " ").split("\n")
  const all = (name: string) =>
    lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim())
  const one = (name: string) => {
    const [value, ...more] = all(name)
    if (value === undefined || more.length > 0) throw new Error(`the runtime stage has ${all(name).length} ${name}`)
    return value
  }
  return { all, one }
}

describe("the operator image", () => {
  let archive: Archive
  let path: string
  let digests: Array<string>
  let files: Map<string, TarEntry>

  beforeAll(async () => {
    const missing = missingPrerequisites(["mmdebstrap", "dpkg-deb", "npm", "skopeo"])
    if (missing !== undefined) throw new Error(missing)
    const { buildOperatorImage } = (await import(operatorModule)) as { buildOperatorImage: typeof BuildOperatorImage }
    const { dir } = await ownedTempDir("cartographer-operator-image-test-")
    // Two builds that share nothing but the npm cache: bundle, Debian extraction and layers made twice.
    const builds = []
    for (const name of ["first", "second"]) {
      builds.push(
        await buildOperatorImage({
          out: join(dir, `${name}.tar`),
          cacheDir: join(dir, `${name}-cache`),
          log: () => undefined,
        }),
      )
    }
    digests = [...builds.map((b) => b.digest), ...(await Promise.all(builds.map((b) => sha256(b.path))))]
    path = builds[0]?.path ?? ""
    archive = await readArchive(path)
    const amd64 = archive.images.find((i) => i.platform === "linux/amd64")
    files = new Map()
    for (const layer of amd64?.layers ?? []) {
      const wanted = (p: string) => p === "etc/passwd" || p === "etc/group"
      for (const entry of await layerEntries(path, layer, wanted)) files.set(entry.path.replace(/\/$/u, ""), entry)
    }
  }, 900_000)

  it("comes out of two independent builds with the same digest and the same bytes", () => {
    expect(digests[1]).toBe(digests[0])
    expect(digests[3]).toBe(digests[2])
  })

  it("is named as install/kustomization.yaml and package.json say, for linux/amd64 and linux/arm64", async () => {
    const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string }
    expect(archive.annotations["io.containerd.image.name"]).toBe(`docker.io/library/cartographer:${version}`)
    expect(archive.annotations["org.opencontainers.image.ref.name"]).toBe(version)
    expect(archive.images.map((i) => i.platform).sort()).toEqual(["linux/amd64", "linux/arm64/v8"])
  })

  it("runs as user 1000 with the Dockerfile's entrypoint, command, environment and ports, and says what it is", async () => {
    const { version, license, repository } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      version: string
      license: string
      repository: { url: string }
    }
    for (const { config } of archive.images) {
      expect(config.config.User).toBe("1000:1000")
      expect(config.config.Entrypoint).toEqual(["node", "/app/cartographer.mjs"])
      expect(config.config.Cmd).toEqual(["run"])
      expect(config.config.WorkingDir).toBe("/app")
      expect(config.config.Env).toContain("NODE_ENV=production")
      expect(config.config.Env?.find((e) => e.startsWith("PATH="))).toContain("/usr/local/bin")
      expect(Object.keys(config.config.ExposedPorts ?? {}).sort()).toEqual(["8080/tcp", "8081/tcp"])
      const labels = config.config.Labels ?? {}
      expect(labels["org.opencontainers.image.version"]).toBe(version)
      expect(labels["org.opencontainers.image.licenses"]).toBe(license)
      expect(labels["org.opencontainers.image.revision"]).toMatch(/^[0-9a-f]{40}(-dirty)?$/u)
      // The repository's web address: npm's `git+…` prefix and `.git` suffix dropped.
      expect(`git+${labels["org.opencontainers.image.source"]}.git`).toBe(repository.url)
    }
  })

  it("agrees with the Dockerfile's runtime stage: user, directory, entrypoint, command, environment, ports", async () => {
    const stage = await runtimeStage()
    for (const { config } of archive.images) {
      expect(config.config.User).toBe(stage.one("USER"))
      expect(config.config.WorkingDir).toBe(stage.one("WORKDIR"))
      expect(config.config.Entrypoint).toEqual(JSON.parse(stage.one("ENTRYPOINT")))
      expect(config.config.Cmd).toEqual(JSON.parse(stage.one("CMD")))
      for (const env of stage.all("ENV")) expect(config.config.Env).toContain(env)
      const exposed = stage.one("EXPOSE").split(/\s+/u)
      expect(Object.keys(config.config.ExposedPorts ?? {}).sort()).toEqual(exposed.map((p) => `${p}/tcp`).sort())
    }
  })

  it("holds the bundle where the Dockerfile copies it, read-only and root's, and node where its base has it", async () => {
    const stage = await runtimeStage()
    const copy = stage.all("COPY").find((c) => c.includes("cartographer.mjs")) ?? ""
    const target = copy.split(/\s+/u).at(-1) ?? ""
    const mode = /--chmod=(\d+)/u.exec(copy)?.[1] ?? ""
    const owner = /--chown=(\d+):(\d+)/u.exec(copy)
    const bundle = files.get(target.slice(1))
    expect(target).toBe("/app/cartographer.mjs")
    expect(bundle?.mode).toBe(Number.parseInt(mode, 8))
    expect([bundle?.uid, bundle?.gid]).toEqual([Number(owner?.[1]), Number(owner?.[2])])
    expect(files.get("usr/local/bin/node")?.mode).toBe(0o755)
  })

  it("has none of what the Dockerfile removes, no shell and no package manager", async () => {
    const stage = await runtimeStage()
    const run = stage.all("RUN").find((r) => r.includes("rm -rf")) ?? ""
    const removed = run.split(/\s+/u).filter((word) => word.startsWith("/usr") || word.startsWith("/opt"))
    expect(removed.length).toBeGreaterThan(3)
    for (const path of removed) {
      const prefix = path.replace(/\*$/u, "").slice(1)
      expect([...files.keys()].filter((f) => f.startsWith(prefix))).toEqual([])
    }
    for (const absent of ["bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/dpkg", "usr/bin/apt", "usr/bin/apt-get"]) {
      expect(files.has(absent)).toBe(false)
    }
  })

  it("is read by skopeo as an OCI archive too, the same index and both platforms", async () => {
    const { stdout } = await run("skopeo", ["inspect", "--raw", `oci-archive:${path}`])
    expect(`sha256:${createHash("sha256").update(stdout).digest("hex")}`).toBe(archive.digest)
    const index = JSON.parse(stdout) as { manifests: Array<{ platform: { architecture: string } }> }
    expect(index.manifests.map((m) => m.platform.architecture).sort()).toEqual(["amd64", "arm64"])
  })

  it("has the user 1000 in /etc/passwd and /etc/group, with a home of its own; root owns everything else", () => {
    expect(String(files.get("etc/passwd")?.data)).toMatch(/^node:x:1000:1000:[^:]*:\/home\/node:/mu)
    expect(String(files.get("etc/group")?.data)).toMatch(/^node:x:1000:/mu)
    expect(files.get("home/node")).toMatchObject({ uid: 1000, gid: 1000 })
    for (const [path, entry] of files)
      if (path !== "home/node") expect([path, entry.uid, entry.gid]).toEqual([path, 0, 0])
  })
})

describe("the operator image in containerd", () => {
  const containers = useImageContainers((ref) => ref === operatorReference)

  it("runs its CLI as uid 1000 from the image's own settings", async () => {
    const cli = await containers.runToEnd(operatorReference, ["node", "/app/cartographer.mjs", "version"])
    expect(cli.stdout.trim()).toBe(`cartographer ${version}`)
    const uid = await containers.runToEnd(operatorReference, [
      "node",
      "-e",
      "console.log(process.getuid(), process.cwd())",
    ])
    expect(uid.stdout.trim()).toBe("1000 /app")
  })
})
