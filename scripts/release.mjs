// `npm run release`: writes what a team needs to install Cartographer without building anything, into release/:
//
//   cartographer-<version>.zip         install/ (the kustomize base), samples/, README.md, INSTALL.md, docs/ (the
//                                      README's links: operations, configuration reference, architecture), and
//                                      bin/cartographer.mjs (the CLI bundle: `node bin/cartographer.mjs diff|plan|run`)
//   cartographer-<version>-image.tar   the operator image (linux/amd64 and linux/arm64) as an OCI image archive, built
//                                      by scripts/image/operator.mjs around the same bundle; it names the image as
//                                      the zip's install/kustomization.yaml does
//   SHA256SUMS                         the SHA-256 of both, for `sha256sum -c SHA256SUMS`
//
// Options:
//   --image <ref>      the operator image install/kustomization.yaml names (name[:tag][@digest]), also the name the
//                      archive gives the image; default: the checked-in name, tagged with the version
//   --pin-digest       pin install/kustomization.yaml to the built image's digest as well (what the publishing
//                      workflow does: a registry the archive is copied to unchanged serves the same digest)
//   --platform <list>  the image's platforms (default amd64,arm64; both build on either machine, nothing is emulated)
//   --cache <dir>      keep Debian's libraries and npm's node package there between runs (default: fetched afresh)
//   --out-dir <dir>    where to write (default release/)
//
// The same commit gives the same bytes: the zip's entries are sorted with fixed timestamps, and the image is
// reproducible (see scripts/image/operator.mjs; Debian's packages are those bookworm serves at build time).
import { createHash } from "node:crypto"
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { basename, dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { zipSync } from "fflate"
import { parseDocument } from "yaml"
import { bundle } from "../apps/operator/scripts/bundle.mjs"
import { buildOperatorImage } from "./image/operator.mjs"

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

const cartographerEntry = (document) => {
  const entry = document.get("images")?.items?.find((item) => item.get("name") === "cartographer")
  if (entry === undefined) throw new Error("install/kustomization.yaml has no `images` entry named cartographer")
  return entry
}

/**
 * The `images` fields of the operator in the release: `image`'s, else the checked-in name tagged with the version;
 * a tag is always set (the version, unless `image` names one), as the archive's name needs one.
 */
export const releaseImage = (text, image, version) => {
  const fields =
    image === undefined
      ? { newName: cartographerEntry(parseDocument(text)).get("newName") ?? "cartographer" }
      : imageFields(image)
  return { newTag: version, ...fields }
}

/** install/kustomization.yaml with the operator's `images` entry set to `fields` (comments kept). */
export const withImage = (text, fields) => {
  const document = parseDocument(text)
  const entry = cartographerEntry(document)
  for (const key of ["newName", "newTag", "digest"]) {
    if (fields[key] === undefined) entry.delete(key)
    else entry.set(key, fields[key])
  }
  return document.toString({ lineWidth: 0 })
}

/** The zip's entries: install/, samples/, docs/, the README and INSTALL.md, the kustomization and CLI given. */
const zipEntries = async ({ version, kustomization, cli }) => {
  const entries = new Map()
  for (const dir of ["install", "samples", "docs"]) {
    for (const path of await files(join(root, dir))) {
      entries.set(relative(root, path).split(sep).join("/"), await readFile(path))
    }
  }
  entries.delete("docs/INSTALL.md") // at the top, with the version filled in
  entries.set("install/kustomization.yaml", Buffer.from(kustomization))
  entries.set("README.md", await readFile(join(root, "README.md")))
  entries.set(
    "INSTALL.md",
    Buffer.from((await readFile(join(root, "docs", "INSTALL.md"), "utf8")).replaceAll("<version>", version)),
  )
  entries.set("bin/cartographer.mjs", cli)
  return entries
}

const sha256 = (data) => createHash("sha256").update(data).digest("hex")

export const release = async ({
  image,
  pinDigest = false,
  platforms = ["amd64", "arm64"],
  cacheDir,
  outDir = join(root, "release"),
  log = (line) => process.stderr.write(`[release] ${line}\n`),
} = {}) => {
  const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8"))
  const checkedIn = await readFile(join(root, "install", "kustomization.yaml"), "utf8")
  const fields = releaseImage(checkedIn, image, version)
  if (pinDigest && fields.digest !== undefined) throw new Error(`--pin-digest: --image ${image} names a digest already`)
  const out = resolve(outDir)
  await mkdir(out, { recursive: true })
  const zipPath = join(out, `cartographer-${version}.zip`)
  const imagePath = join(out, `cartographer-${version}-image.tar`)
  const scratch = await mkdtemp(join(tmpdir(), "cartographer-release-"))
  try {
    // One bundle: the CLI in the zip is the operator in the image.
    const { outfile } = await bundle({ outfile: join(scratch, "cartographer.mjs") })
    log(`building the operator image for ${platforms.map((p) => `linux/${p}`).join(", ")}`)
    const built = await buildOperatorImage({
      out: imagePath,
      platforms,
      bundleFile: outfile,
      reference: `${fields.newName}:${fields.newTag}`,
      ...(cacheDir === undefined ? {} : { cacheDir }),
      log,
    })
    const released = pinDigest ? { ...fields, digest: built.digest } : fields
    const entries = await zipEntries({
      version,
      kustomization: withImage(checkedIn, released),
      cli: await readFile(outfile),
    })
    // Fixed timestamps (zip's epoch is 1980) and sorted entries: the same inputs give the same bytes.
    const mtime = new Date("1980-01-01T00:00:00Z")
    const tree = Object.fromEntries(
      [...entries.keys()].sort().map((name) => [name, [new Uint8Array(entries.get(name)), { mtime, level: 9 }]]),
    )
    const zip = zipSync(tree)
    await writeFile(zipPath, zip)
    const sums = { zip: sha256(zip), image: sha256(await readFile(imagePath)) }
    const checksums = join(out, "SHA256SUMS")
    await writeFile(checksums, `${sums.zip}  ${basename(zipPath)}\n${sums.image}  ${basename(imagePath)}\n`)
    return {
      version,
      zip: { path: zipPath, bytes: zip.byteLength, sha256: sums.zip, entries: [...entries.keys()].sort() },
      image: {
        path: imagePath,
        bytes: built.size,
        sha256: sums.image,
        reference: built.reference,
        digest: built.digest,
      },
      checksums,
    }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      image: { type: "string" },
      "pin-digest": { type: "boolean", default: false },
      platform: { type: "string" },
      cache: { type: "string" },
      "out-dir": { type: "string" },
    },
  })
  const result = await release({
    ...(values.image === undefined ? {} : { image: values.image }),
    pinDigest: values["pin-digest"],
    ...(values.platform === undefined ? {} : { platforms: values.platform.split(",") }),
    ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
    ...(values["out-dir"] === undefined ? {} : { outDir: values["out-dir"] }),
  })
  const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(2)} MiB`
  const here = (path) => relative(process.cwd(), path)
  console.log(`wrote ${here(result.zip.path)} (${result.zip.entries.length} files, ${mib(result.zip.bytes)})`)
  console.log(`wrote ${here(result.image.path)} (${mib(result.image.bytes)}): ${result.image.reference}`)
  console.log(`image digest ${result.image.digest}`)
  console.log(`wrote ${here(result.checksums)}`)
}
