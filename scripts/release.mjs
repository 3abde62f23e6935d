// `npm run release`: writes release/cartographer-<version>.zip (and its .sha256) with what a user needs to install
// Cartographer: install/ (the kustomize base), samples/, README.md, INSTALL.md, docs/ (the README's links: operations,
// configuration reference, architecture), and bin/cartographer.mjs (the CLI bundle: `node bin/cartographer.mjs
// diff|plan|run`, Node 24, no install needed).
//
// Options:
//   --image <ref>      operator image written into install/kustomization.yaml (name[:tag][@digest]);
//                      default: the checked-in one with its tag set to the version
//   --out-dir <dir>    where to write the zip (default release/)
//
// The zip is reproducible: entries sorted, fixed timestamps, the same bytes for the same inputs.
import { createHash } from "node:crypto"
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { zipSync } from "fflate"
import { parseDocument } from "yaml"
import { bundle } from "../apps/operator/scripts/bundle.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

const files = async (dir) => {
  const entries = await readdir(dir, { withFileTypes: true })
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? files(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))),
  )
  return nested.flat()
}

/** `repo/name:tag@sha256:…` → kustomize's `images` fields. */
export const imageFields = (ref) => {
  const at = ref.indexOf("@")
  const digest = at >= 0 ? ref.slice(at + 1) : undefined
  const rest = at >= 0 ? ref.slice(0, at) : ref
  const colon = rest.lastIndexOf(":")
  const hasTag = colon > rest.lastIndexOf("/")
  const newName = hasTag ? rest.slice(0, colon) : rest
  const newTag = hasTag ? rest.slice(colon + 1) : undefined
  if (newName === "" || /\s/u.test(ref)) throw new Error(`--image ${ref}: not an image reference`)
  return { newName, ...(newTag === undefined ? {} : { newTag }), ...(digest === undefined ? {} : { digest }) }
}

/** install/kustomization.yaml with the operator image set (comments kept). */
export const withImage = (text, image, version) => {
  const document = parseDocument(text)
  const images = document.get("images")
  const entry = images?.items?.find((item) => item.get("name") === "cartographer")
  if (entry === undefined) throw new Error("install/kustomization.yaml has no `images` entry named cartographer")
  const fields =
    image === undefined ? { newName: entry.get("newName") ?? "cartographer", newTag: version } : imageFields(image)
  for (const key of ["newName", "newTag", "digest"]) {
    if (fields[key] === undefined) entry.delete(key)
    else entry.set(key, fields[key])
  }
  return document.toString({ lineWidth: 0 })
}

export const release = async ({ image, outDir = join(root, "release") } = {}) => {
  const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8"))
  const entries = new Map()
  for (const dir of ["install", "samples", "docs"]) {
    for (const path of await files(join(root, dir))) {
      entries.set(relative(root, path).split(sep).join("/"), await readFile(path))
    }
  }
  entries.delete("docs/INSTALL.md") // at the top, with the version filled in
  entries.set(
    "install/kustomization.yaml",
    Buffer.from(withImage(await readFile(join(root, "install", "kustomization.yaml"), "utf8"), image, version)),
  )
  entries.set("README.md", await readFile(join(root, "README.md")))
  entries.set(
    "INSTALL.md",
    Buffer.from((await readFile(join(root, "docs", "INSTALL.md"), "utf8")).replaceAll("<version>", version)),
  )
  const scratch = join(tmpdir(), `cartographer-release-${process.pid}`)
  try {
    const { outfile } = await bundle({ outfile: join(scratch, "cartographer.mjs") })
    entries.set("bin/cartographer.mjs", await readFile(outfile))
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
  // Fixed timestamps (zip's epoch is 1980) and sorted entries: the same inputs give the same bytes.
  const mtime = new Date("1980-01-01T00:00:00Z")
  const tree = Object.fromEntries(
    [...entries.keys()].sort().map((name) => [name, [new Uint8Array(entries.get(name)), { mtime, level: 9 }]]),
  )
  const zip = zipSync(tree)
  await mkdir(outDir, { recursive: true })
  const path = join(resolve(outDir), `cartographer-${version}.zip`)
  await writeFile(path, zip)
  const sha256 = createHash("sha256").update(zip).digest("hex")
  await writeFile(`${path}.sha256`, `${sha256}  cartographer-${version}.zip\n`)
  return { path, version, bytes: zip.byteLength, sha256, entries: [...entries.keys()].sort() }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { image: { type: "string" }, "out-dir": { type: "string" } } })
  const result = await release({
    ...(values.image === undefined ? {} : { image: values.image }),
    ...(values["out-dir"] === undefined ? {} : { outDir: values["out-dir"] }),
  })
  console.log(
    `wrote ${relative(process.cwd(), result.path)} (${result.entries.length} files, ${(result.bytes / 2 ** 20).toFixed(2)} MiB)`,
  )
  console.log(`sha256 ${result.sha256}`)
}
