/**
 * Builds the images of images.ts, and the operator's own (scripts/image/operator.mjs), as OCI archives that
 * `ctr -n k8s.io images import <archive>` imports under their reference. Run it through build-images.sh (root, the
 * lock, the pinned Node). Prints `<reference>\t<archive>` per image on stdout, progress on stderr.
 *
 * Everything is cached by content under $CARTOGRAPHER_CACHE/images: a layer's key hashes its recipe's directory,
 * its pins, the helpers every recipe uses, the layer writer and its parent's key; an archive's key hashes its
 * layers' keys, its config and the archive writer; the operator image's key hashes the bundle's bytes, the node pin,
 * the commit and its recipe. A warm run finds every archive at once. Layers that others build on keep their tree
 * (a copy of it is where the next layer starts); everything is written under a temporary name and renamed when
 * complete, so a half-built file is never taken for a finished one.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { homedir } from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { type ImageRecipe, images, type LayerRecipe, layersOf } from "./images.js"

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, "..", "..", "..")
const scripts = join(repo, "scripts", "image")
const cache = join(process.env.CARTOGRAPHER_CACHE ?? join(homedir(), ".cache", "cartographer"), "images")

// The builder's modules are loaded from their files (not bundled into this script): they find the repository
// through their own location, and some of them are command-line programs when they are the main module.
const load = <T>(name: string): Promise<T> => import(pathToFileURL(join(scripts, name)).href) as Promise<T>
const { writeLayer } = await load<typeof import("../../../scripts/image/layer.mjs")>("layer.mjs")
const { writeOciArchive, platformOf } = await load<typeof import("../../../scripts/image/oci.mjs")>("oci.mjs")
const { debianSources } = await load<typeof import("../../../scripts/image/debian.mjs")>("debian.mjs")
const operator = await load<typeof import("../../../scripts/image/operator.mjs")>("operator.mjs")
const { bundle } = await load<{ bundle: (options: { outfile: string }) => Promise<{ outfile: string }> }>(
  "../../apps/operator/scripts/bundle.mjs",
)

const log = (line: string) => process.stderr.write(`[images] ${line}\n`)
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`

type LayerBlob = Awaited<ReturnType<typeof writeLayer>> & { readonly comment: string }

/** The files below `dir`, sorted, as paths relative to it. */
const filesBelow = async (dir: string): Promise<Array<string>> => {
  const out: Array<string> = []
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await filesBelow(path)).map((p) => join(entry.name, p)))
    else out.push(entry.name)
  }
  return out
}

const hashFiles = async (hash: ReturnType<typeof createHash>, paths: ReadonlyArray<string>) => {
  for (const path of paths)
    hash
      .update(`${relative(repo, path)}\0`)
      .update(await readFile(path))
      .update("\0")
}

/** What every layer's bytes depend on besides its own recipe. */
const layerInputs = [
  join(here, "rootfs.sh"),
  join(here, "policy-rc.d"),
  join(scripts, "layer.mjs"),
  join(scripts, "tar.mjs"),
]

const layerKeys = new Map<LayerRecipe, Promise<string>>()
const layerKey = (layer: LayerRecipe): Promise<string> => {
  const known = layerKeys.get(layer)
  if (known) return known
  const computed = (async () => {
    const hash = createHash("sha256")
    const recipeDir = join(here, dirname(layer.script))
    await hashFiles(hash, [...layerInputs, ...(await filesBelow(recipeDir)).map((f) => join(recipeDir, f))])
    hash.update(JSON.stringify({ script: layer.script, env: layer.env ?? {}, suite: layer.suite ?? "" }))
    if (layer.parent) hash.update(await layerKey(layer.parent))
    return hash.digest("hex")
  })()
  layerKeys.set(layer, computed)
  return computed
}

const cacheId = async (layer: LayerRecipe) => `${layer.name}-${(await layerKey(layer)).slice(0, 16)}`

/** Runs a command, its output on our stderr; rejects on failure. */
const run = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) =>
  new Promise<void>((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", 2, 2], env })
    child.once("error", reject)
    child.once("exit", (code, signal) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`${command} ${args.join(" ")}: ${signal ?? `exit code ${code}`}`)),
    )
  })

/** Removes a work directory, after making sure nothing is still mounted below it (a crashed recipe's chroot). */
const removeTree = async (dir: string) => {
  const mounts = await readFile("/proc/self/mountinfo", "utf8")
  const mounted = mounts.split("\n").find((line) => line.split(" ")[4]?.startsWith(`${dir}/`))
  if (mounted) throw new Error(`${dir} still has a mount below it (${mounted.split(" ")[4]}): unmount it, then retry`)
  await rm(dir, { recursive: true, force: true })
}

/** Layers that other layers start from: their trees are kept. */
const parents = new Set(images.flatMap((image) => layersOf(image).flatMap((l) => (l.parent ? [l.parent] : []))))

const built = new Map<LayerRecipe, Promise<LayerBlob>>()

/** The layer's blob (and, for a parent, its tree in the cache), built unless cached. */
const layerBlob = (layer: LayerRecipe): Promise<LayerBlob> => {
  const known = built.get(layer)
  if (known) return known
  const result = (async () => {
    const id = await cacheId(layer)
    const descriptor = join(cache, "layers", `${id}.json`)
    const tree = join(cache, "trees", id)
    const needTree = parents.has(layer)
    if (existsSync(descriptor) && (!needTree || existsSync(`${tree}.complete`))) {
      return JSON.parse(await readFile(descriptor, "utf8")) as LayerBlob
    }
    let parentTree: string | undefined
    if (layer.parent) {
      await layerBlob(layer.parent)
      parentTree = join(cache, "trees", await cacheId(layer.parent))
    }
    const work = join(cache, "work", id)
    await removeTree(work)
    await mkdir(work, { recursive: true })
    const rootfs = join(work, "rootfs")
    const started = Date.now()
    try {
      if (parentTree) await run("cp", ["-a", "--reflink=auto", parentTree, rootfs])
      else await mkdir(rootfs)
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...layer.env,
        ROOTFS: rootfs,
        RECIPE_DIR: join(here, dirname(layer.script)),
        CACHE_DIR: cache,
      }
      if (layer.suite) {
        env.APT_SOURCES = join(work, "apt-sources.list")
        await writeFile(env.APT_SOURCES, `${(await debianSources(layer.suite)).join("\n")}\n`)
      }
      log(`building layer ${layer.name}${layer.parent ? ` on ${layer.parent.name}` : ""}`)
      await run("bash", [join(here, layer.script)], env)
      await mkdir(join(cache, "layers"), { recursive: true })
      const blob = await writeLayer(rootfs, join(cache, "layers", `${id}.tar.zst`), {
        ...(parentTree ? { parent: parentTree } : {}),
        compression: "zstd",
      })
      const described: LayerBlob = { ...blob, comment: `${layer.name} (test/node/images/${layer.script})` }
      await writeFile(`${descriptor}.partial`, JSON.stringify(described))
      await rename(`${descriptor}.partial`, descriptor)
      if (needTree) {
        await mkdir(join(cache, "trees"), { recursive: true })
        await removeTree(tree)
        await rename(rootfs, tree)
        await writeFile(`${tree}.complete`, "")
      }
      log(`layer ${layer.name}: ${(blob.size / 2 ** 20).toFixed(1)} MiB compressed, ${seconds(started)}`)
      return described
    } finally {
      await removeTree(work)
    }
  })()
  built.set(layer, result)
  return result
}

const slug = (reference: string) => reference.replace(/[/:@]/gu, "_")

/** An image of images.ts: its archive, built unless cached. */
const imageArchive = async (image: ImageRecipe): Promise<string> => {
  const layers = layersOf(image)
  const hash = createHash("sha256")
  for (const layer of layers) hash.update(await layerKey(layer))
  await hashFiles(hash, [join(scripts, "oci.mjs")])
  hash.update(JSON.stringify({ reference: image.reference, config: image.config }))
  const archive = join(cache, `${slug(image.reference)}-${hash.digest("hex").slice(0, 16)}.oci.tar`)
  if (existsSync(archive)) return archive
  const blobs = []
  for (const layer of layers) blobs.push(await layerBlob(layer))
  await writeOciArchive({
    out: archive,
    reference: image.reference,
    images: [{ platform: platformOf(goArch()), config: image.config, layers: blobs }],
    created: new Date().toISOString().replace(/\.\d+Z$/u, "Z"),
  })
  log(`wrote ${image.reference}`)
  return archive
}

const goArch = () => ({ x64: "amd64", arm64: "arm64" })[process.arch as "x64" | "arm64"] ?? process.arch

/** The operator's image (both platforms it ships for), keyed by the bundle it carries. */
const operatorArchive = async (): Promise<{ reference: string; archive: string }> => {
  const reference = await operator.operatorImageReference()
  const work = join(cache, "work", "operator")
  await removeTree(work)
  await mkdir(work, { recursive: true })
  try {
    const { outfile } = await bundle({ outfile: join(work, "cartographer.mjs") })
    const platforms = ["amd64", "arm64"]
    const key = await operator.operatorImageKey({ bundleFile: outfile, platforms })
    const archive = join(cache, `${slug(reference)}-${key.slice(0, 16)}.oci.tar`)
    if (!existsSync(archive)) {
      const started = Date.now()
      await operator.buildOperatorImage({
        out: archive,
        platforms,
        bundleFile: outfile,
        cacheDir: join(cache, "operator"),
        log: (line: string) => log(`operator: ${line}`),
      })
      log(`wrote ${reference} in ${seconds(started)}`)
    }
    return { reference, archive }
  } finally {
    await removeTree(work)
  }
}

/** Removes cached files of the same layers and images under other keys (older recipes). */
const prune = async (keep: ReadonlySet<string>) => {
  const keyed = /^(.*)-([0-9a-f]{16})(\.json|\.tar\.zst|\.complete|\.oci\.tar)?$/u
  const wanted = new Set([...keep].map((path) => keyed.exec(path.split("/").at(-1) ?? "")?.[1]))
  for (const dir of [cache, join(cache, "layers"), join(cache, "trees")]) {
    for (const name of await readdir(dir).catch(() => [] as Array<string>)) {
      const match = keyed.exec(name)
      const path = join(dir, name)
      if (match && wanted.has(match[1]) && ![...keep].some((k) => path === k || path.startsWith(`${k}.`))) {
        await removeTree(path)
      }
    }
  }
}

const main = async () => {
  const only = process.argv.slice(2)
  const known = [...images.map((i) => i.short), "cartographer"]
  const unknown = only.filter((name) => !known.includes(name))
  if (unknown.length > 0) throw new Error(`unknown image ${unknown.join(", ")} (known: ${known.join(", ")})`)
  const wanted = (short: string) => only.length === 0 || only.includes(short)
  await mkdir(cache, { recursive: true })
  // Under the lock nothing else builds: work directories and partial files are a crashed run's.
  await removeTree(join(cache, "work"))
  for (const dir of [cache, join(cache, "layers")]) {
    for (const name of await readdir(dir).catch(() => [] as Array<string>)) {
      if (/\.partial(-\d+)?$/u.test(name)) await rm(join(dir, name), { force: true })
    }
  }
  const started = Date.now()
  const lines: Array<string> = []
  const keep = new Set<string>()
  for (const image of images.filter((i) => wanted(i.short))) {
    const archive = await imageArchive(image)
    lines.push(`${image.reference}\t${archive}`)
    keep.add(archive)
    for (const layer of layersOf(image)) {
      const id = await cacheId(layer)
      keep.add(join(cache, "layers", id)).add(join(cache, "trees", id))
    }
  }
  if (wanted("cartographer")) {
    const { reference, archive } = await operatorArchive()
    lines.push(`${reference}\t${archive}`)
    keep.add(archive)
  }
  await prune(keep)
  log(`${lines.length} images ready in ${seconds(started)}`)
  process.stdout.write(`${lines.join("\n")}\n`)
}

await main()
