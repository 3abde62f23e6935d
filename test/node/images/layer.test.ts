// The generic image builder's layer and archive writers (scripts/image), on small trees made here: what makes their
// output reproducible, and the OCI whiteouts of a layer written against its parent's tree.
import { createHash } from "node:crypto"
import {
  chmod,
  link,
  lutimes,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { writeLayer } from "../../../scripts/image/layer.mjs"
import { normalizeReference, platformOf, writeOciArchive } from "../../../scripts/image/oci.mjs"
import { readTar, readTarMember, type TarEntry, TarType } from "../../../scripts/image/tar.mjs"

const dirs: Array<string> = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), "cartographer-layer-test-"))
  dirs.push(dir)
  return dir
}

const entries = async (file: string): Promise<Array<TarEntry>> => {
  const out: Array<TarEntry> = []
  for await (const entry of readTar(file, () => true)) out.push(entry)
  return out
}

const sha256 = async (file: string) =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex")

/** A tree with a long path, a symlink, a hard link, an executable, a nested directory and a file from the future. */
const sampleTree = async (root: string) => {
  await mkdir(join(root, "usr", "bin"), { recursive: true })
  await mkdir(join(root, "etc"), { recursive: true })
  await mkdir(join(root, "dev"), { recursive: true })
  await writeFile(join(root, "dev", "null-ish"), "runtime mounts are kept empty")
  await writeFile(join(root, "etc", "passwd"), "root:x:0:0::/root:/bin/sh\n")
  await writeFile(join(root, "usr", "bin", "tool"), "#!/bin/sh\necho hi\n")
  await chmod(join(root, "usr", "bin", "tool"), 0o755)
  await link(join(root, "usr", "bin", "tool"), join(root, "usr", "bin", "tool-again"))
  await symlink("tool", join(root, "usr", "bin", "alias"))
  const deep = join(root, "opt", "a".repeat(60), "b".repeat(60), "c".repeat(60))
  await mkdir(deep, { recursive: true })
  await writeFile(join(deep, "long-name.txt"), "x".repeat(1000))
  await writeFile(join(root, "later"), "from the future")
  await utimes(join(root, "later"), 4_000_000_000, 4_000_000_000)
}

/** Sets every entry's times to `seconds` (children before their directory, whose time they would change). */
const touchAll = async (dir: string, seconds: number): Promise<void> => {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await touchAll(path, seconds)
    await lutimes(path, seconds, seconds)
  }
  await lutimes(dir, seconds, seconds)
}

describe("writeLayer", () => {
  it("writes the same bytes for the same tree, with entries sorted, numeric owners and no atime or ctime", async () => {
    const root = await tempDir()
    await sampleTree(root)
    const out = await tempDir()
    const first = await writeLayer(root, join(out, "a.tar.gz"), { epoch: 1_700_000_000, compression: "gzip" })
    const second = await writeLayer(root, join(out, "b.tar.gz"), { epoch: 1_700_000_000, compression: "gzip" })
    expect(second.digest).toBe(first.digest)
    expect(`sha256:${await sha256(join(out, "a.tar.gz"))}`).toBe(first.digest)
    expect(first.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip")

    const plain = await writeLayer(root, join(out, "c.tar"), { epoch: 1_700_000_000, compression: "none" })
    expect(plain.diffId).toBe(first.diffId)
    const list = await entries(join(out, "c.tar"))
    const deep = `opt/${"a".repeat(60)}/${"b".repeat(60)}/${"c".repeat(60)}/`
    // Depth first, names sorted bytewise within each directory; /dev's contents are the runtime's, never a layer's.
    expect(list.map((e) => e.path)).toEqual([
      "dev/",
      "etc/",
      "etc/passwd",
      "later",
      "opt/",
      `opt/${"a".repeat(60)}/`,
      `opt/${"a".repeat(60)}/${"b".repeat(60)}/`,
      deep,
      `${deep}long-name.txt`,
      "usr/",
      "usr/bin/",
      "usr/bin/alias",
      "usr/bin/tool",
      "usr/bin/tool-again",
    ])
    for (const entry of list) {
      expect(entry.uname).toBe("")
      expect(entry.gname).toBe("")
      expect(Object.keys(entry.pax).filter((k) => k === "atime" || k === "ctime")).toEqual([])
      expect(entry.mtime).toBeLessThanOrEqual(1_700_000_000)
    }
    const byPath = new Map(list.map((e) => [e.path, e]))
    expect(byPath.get("usr/bin/tool")?.mode).toBe(0o755)
    expect(byPath.get("usr/bin/alias")).toMatchObject({ type: TarType.symlink, linkname: "tool" })
    expect(byPath.get("usr/bin/tool-again")).toMatchObject({ type: TarType.hardlink, linkname: "usr/bin/tool" })
    const long = list.find((e) => e.path.endsWith("long-name.txt"))
    expect(long?.path.length).toBeGreaterThan(180)
    expect(long?.data?.toString()).toBe("x".repeat(1000))
  })

  it("keeps modification times when no epoch is given (Python checks .pyc files against them)", async () => {
    const root = await tempDir()
    await sampleTree(root)
    const out = await tempDir()
    await writeLayer(root, join(out, "l.tar"), { compression: "none" })
    const later = (await entries(join(out, "l.tar"))).find((e) => e.path === "later")
    expect(later?.mtime).toBe(4_000_000_000)
  })

  it("against its parent's tree holds only what changed, and whiteouts for what was removed", async () => {
    const parent = await tempDir()
    const child = await tempDir()
    for (const root of [parent, child]) {
      await sampleTree(root)
      await touchAll(root, 1_600_000_000)
    }
    await writeFile(join(child, "etc", "passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n")
    await rm(join(child, "usr", "bin", "alias"))
    await rm(join(child, "opt"), { recursive: true })
    await mkdir(join(child, "srv"))
    await writeFile(join(child, "srv", "new"), "new")
    const out = await tempDir()
    await writeLayer(child, join(out, "diff.tar"), { parent, compression: "none" })
    const paths = (await entries(join(out, "diff.tar"))).map((e) => e.path)
    // Depth first, names sorted within each directory; a whiteout stands where the name it hides stood.
    expect(paths).toEqual(["etc/passwd", ".wh.opt", "srv/", "srv/new", "usr/bin/", "usr/bin/.wh.alias"])
  })
})

describe("writeOciArchive", () => {
  it("names the image for containerd (full reference) and for the OCI layout (tag), and is reproducible", async () => {
    const root = await tempDir()
    await writeFile(join(root, "hello"), "hello")
    const out = await tempDir()
    const layer = await writeLayer(root, join(out, "layer"), { epoch: 0, compression: "gzip" })
    const write = (name: string) =>
      writeOciArchive({
        out: join(out, name),
        reference: "docker.io/library/hello:1.0",
        created: "1970-01-01T00:00:00Z",
        images: [{ platform: platformOf("amd64"), config: { User: "1000:1000", Cmd: ["/hello"] }, layers: [layer] }],
      })
    const a = await write("a.tar")
    const b = await write("b.tar")
    expect(b.digest).toBe(a.digest)
    expect(await sha256(join(out, "a.tar"))).toBe(await sha256(join(out, "b.tar")))
    const index = JSON.parse(String(await readTarMember(join(out, "a.tar"), "index.json")))
    expect(index.manifests[0].annotations).toEqual({
      "io.containerd.image.name": "docker.io/library/hello:1.0",
      "org.opencontainers.image.ref.name": "1.0",
    })
    expect(index.manifests[0].digest).toBe(a.digest)
    expect(String(await readTarMember(join(out, "a.tar"), "oci-layout"))).toBe('{"imageLayoutVersion":"1.0.0"}')
  })

  it("normalises references as the kubelet does", () => {
    expect(normalizeReference("postgres:17.6")).toBe("docker.io/library/postgres:17.6")
    expect(normalizeReference("prefecthq/prefect:3.9.1-python3.12")).toBe(
      "docker.io/prefecthq/prefect:3.9.1-python3.12",
    )
    expect(normalizeReference("registry.k8s.io/pause:3.10")).toBe("registry.k8s.io/pause:3.10")
    expect(normalizeReference("localhost/x:1")).toBe("localhost/x:1")
  })
})
