// The operator's image, as the repository's Dockerfile describes its runtime stage, built without Docker: the CLI
// bundle in /app, Node from the npm registry's official binaries, and from Debian only the C and C++ runtime
// libraries that node links against (no shell, no package manager). The same inputs give the same bytes.
//
//   node scripts/image/operator.mjs --out <archive.tar> [--platform amd64,arm64] [--cache <dir>]
//
// Inputs: the bundle (apps/operator/scripts/bundle.mjs), the node version package-lock.json resolves for the
// `node` devDependency, Debian bookworm's libc6/libgcc-s1/libstdc++6 (the release node:24-bookworm-slim is on), the
// version and licence of package.json, and the commit: its hash labels the image and its time (or
// SOURCE_DATE_EPOCH) bounds every file's modification time and is the image's creation time.
import { execFile } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { basename, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs, promisify } from "node:util"
import { createGunzip } from "node:zlib"
import { parse } from "yaml"
import { bundle } from "../../apps/operator/scripts/bundle.mjs"
import { debianSources } from "./debian.mjs"
import { writeLayer } from "./layer.mjs"
import { normalizeReference, platformOf, writeOciArchive } from "./oci.mjs"
import { readTar, TarType } from "./tar.mjs"

const run = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

/** The Debian release whose runtime libraries node runs on: that of node:24-bookworm-slim, the Dockerfile's base. */
export const runtimeSuite = "bookworm"
/** What node links against (`ldd node`: libc, libm, libdl, libpthread, libstdc++, libgcc_s). */
export const runtimePackages = ["libc6", "libgcc-s1", "libstdc++6"]
/** The uid/gid the Dockerfile runs as (`node` in the node images). */
export const operatorUser = 1000

const debianArch = { amd64: "amd64", arm64: "arm64" }
const npmArch = { amd64: "x64", arm64: "arm64" }

const packageJson = async () => JSON.parse(await readFile(join(root, "package.json"), "utf8"))

/** `docker.io/library/cartographer:<version>`: install/kustomization.yaml's image name, tagged with the version. */
export const operatorImageReference = async () => {
  const kustomization = parse(await readFile(join(root, "install", "kustomization.yaml"), "utf8"))
  const entry = kustomization.images?.find((image) => image.name === "cartographer")
  const { version } = await packageJson()
  return normalizeReference(`${entry?.newName ?? "cartographer"}:${version}`)
}

/** The node version package-lock.json resolves for the `node` devDependency (the Node the repository pins). */
export const pinnedNodeVersion = async () => {
  const lock = JSON.parse(await readFile(join(root, "package-lock.json"), "utf8"))
  const version = lock.packages?.["node_modules/node"]?.version
  if (version === undefined) throw new Error("package-lock.json resolves no `node` devDependency")
  return version
}

const git = async (...args) => (await run("git", ["-C", root, ...args])).stdout.trim()

/** The commit (with `-dirty` when tracked files differ from it) and the time every file is clamped to. */
export const sourceRevision = async () => {
  const commit = await git("rev-parse", "HEAD")
  const dirty = (await git("status", "--porcelain", "--untracked-files=no")) !== ""
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: the reproducible-builds convention, read outside turbo's tasks
  const fixed = process.env.SOURCE_DATE_EPOCH
  const epoch = fixed ? Number(fixed) : Number(await git("log", "-1", "--format=%ct"))
  return { revision: dirty ? `${commit}-dirty` : commit, epoch }
}

/** Where the source lives: package.json's `repository`, else the `origin` remote; undefined when neither says. */
export const sourceUrl = async () => {
  const { repository } = await packageJson()
  const declared = typeof repository === "string" ? repository : repository?.url
  // npm's `git+https://…/name.git` form → the repository's web address, which registries link the image to.
  if (declared) return declared.replace(/^git\+/u, "").replace(/\.git$/u, "")
  return git("remote", "get-url", "origin").catch(() => undefined) || undefined
}

/** The OCI labels of the image: version, revision, source and licences (package.json's). */
export const operatorLabels = async ({ revision }) => {
  const { version, license } = await packageJson()
  const source = await sourceUrl()
  return {
    "org.opencontainers.image.title": "cartographer",
    "org.opencontainers.image.version": version,
    "org.opencontainers.image.revision": revision,
    ...(source === undefined ? {} : { "org.opencontainers.image.source": source }),
    "org.opencontainers.image.licenses": license,
  }
}

/** The runtime settings of the Dockerfile's runtime stage (test/node/images checks the two against each other). */
export const operatorConfig = ({ nodeVersion, labels }) => ({
  User: `${operatorUser}:${operatorUser}`,
  ExposedPorts: { "8080/tcp": {}, "8081/tcp": {} },
  Env: [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    `NODE_VERSION=${nodeVersion}`,
    "NODE_ENV=production",
  ],
  Entrypoint: ["node", "/app/cartographer.mjs"],
  Cmd: ["run"],
  WorkingDir: "/app",
  Labels: labels,
})

const sha256File = (path) =>
  new Promise((resolve, reject) => {
    const hash = createHash("sha256")
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject)
  })

/** This recipe's own files: what the cache key of everything it builds starts from. */
const recipeFiles = ["operator.mjs", "debian.mjs", "layer.mjs", "tar.mjs", "oci.mjs"].map((f) =>
  join(root, "scripts", "image", f),
)

/**
 * Debian's runtime libraries for `arch`, extracted (not installed: no maintainer scripts run, so any architecture
 * extracts here) with mmdebstrap, with each package's control data for /var/lib/dpkg/status.d (what scanners read
 * in distroless images). Cached under `cacheDir` when given.
 */
const runtimeLibraries = async (arch, cacheDir, work, log) => {
  // Keyed by what decides the extraction (this function's own text included), not by the rest of the recipe.
  const key = createHash("sha256")
  key.update(`${runtimeSuite} ${arch} ${runtimePackages.join(",")}\n${runtimeLibraries.toString()}`)
  const dir =
    cacheDir === undefined
      ? join(work, `debian-${arch}`)
      : join(cacheDir, `debian-${runtimeSuite}-${arch}-${key.digest("hex").slice(0, 16)}`)
  if (await stat(join(dir, ".complete")).catch(() => undefined)) return dir
  // Only complete trees are renamed into place: a directory there without the marker is an older recipe's.
  await rm(dir, { recursive: true, force: true })
  log(`extracting ${runtimePackages.join(", ")} (Debian ${runtimeSuite}, ${arch})`)
  // A name of this build's own: builds that share the cache (a release while the tests build) may extract at once.
  const tree = `${dir}.partial-${process.pid}-${randomBytes(4).toString("hex")}`
  await mkdir(tree, { recursive: true })
  const sources = (await debianSources(runtimeSuite)).join("\n")
  await new Promise((resolve, reject) => {
    const child = execFile(
      "mmdebstrap",
      [
        "--quiet",
        "--variant=extract",
        `--architectures=${debianArch[arch]}`,
        `--include=${runtimePackages.join(",")}`,
        "--skip=cleanup/apt/cache",
        runtimeSuite,
        join(tree, "root"),
        "-",
      ],
      { maxBuffer: 64 << 20 },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`mmdebstrap failed: ${stderr || error.message}`)) : resolve(),
    )
    child.stdin.end(`${sources}\n`)
  })
  const archives = join(tree, "root", "var", "cache", "apt", "archives")
  const status = join(tree, "status.d")
  await mkdir(status, { recursive: true })
  for (const deb of (await readdir(archives)).filter((n) => n.endsWith(".deb")).sort()) {
    const { stdout } = await run("dpkg-deb", ["-f", join(archives, deb)])
    const name = /^Package: (\S+)/mu.exec(stdout)?.[1]
    await writeFile(join(status, name), `${stdout.trimEnd()}\nStatus: install ok installed\n`)
  }
  await writeFile(join(tree, ".complete"), "")
  try {
    await rename(tree, dir)
  } catch (error) {
    // Another build put the same tree there first.
    if (!(await stat(join(dir, ".complete")).catch(() => undefined))) throw error
    await rm(tree, { recursive: true, force: true })
  }
  return dir
}

/** node's binary and licence from the npm registry's `node-linux-<arch>` package (as the `node` package installs). */
const nodeRuntime = async (arch, version, cacheDir, work, into, log) => {
  const packDir = cacheDir === undefined ? work : join(cacheDir, "npm")
  await mkdir(packDir, { recursive: true })
  const tarball = join(packDir, `node-linux-${npmArch[arch]}-${version}.tgz`)
  if (!(await stat(tarball).catch(() => undefined))) {
    log(`fetching node-linux-${npmArch[arch]}@${version}`)
    // Packed into a directory of its own and renamed: a build reading the cache never sees half a tarball.
    const fetching = await mkdtemp(join(packDir, ".fetching-"))
    try {
      await run("npm", ["pack", "--silent", "--pack-destination", fetching, `node-linux-${npmArch[arch]}@${version}`], {
        cwd: fetching,
      })
      await rename(join(fetching, basename(tarball)), tarball)
    } finally {
      await rm(fetching, { recursive: true, force: true })
    }
  }
  const wanted = { "package/bin/node": "usr/local/bin/node", "package/LICENSE": "usr/local/share/doc/node/LICENSE" }
  const found = new Set()
  for await (const entry of readTar(createReadStream(tarball).pipe(createGunzip()), (p) => p in wanted)) {
    const target = wanted[entry.path]
    if (target === undefined || entry.type !== TarType.file) continue
    const path = join(into, target)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, entry.data)
    await chmod(path, entry.path.endsWith("bin/node") ? 0o755 : 0o644)
    await utimes(path, entry.mtime, entry.mtime)
    found.add(entry.path)
  }
  for (const path of Object.keys(wanted)) if (!found.has(path)) throw new Error(`${tarball} has no ${path}`)
}

/** The files of the first layer: runtime libraries (their copyright notices kept), users, and the few /etc files. */
const runtimeTree = async (libraries, into) => {
  const from = join(libraries, "root")
  const keep = async (relative) => {
    const source = join(from, relative)
    if (await stat(source).catch(() => undefined)) {
      await cp(source, join(into, relative), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true })
    }
  }
  for (const name of await readdir(from)) {
    // lib, lib64 (bookworm's packages are not merged into /usr yet) and the multiarch directory below usr/lib.
    if (/^lib/u.test(name)) await keep(name)
  }
  for (const name of await readdir(join(from, "usr", "lib"))) await keep(join("usr", "lib", name))
  // iconv's charset modules (8 MB): node converts text with its own ICU, never through glibc.
  for (const gconv of await readdir(join(into, "usr", "lib")).catch(() => [])) {
    await rm(join(into, "usr", "lib", gconv, "gconv"), { recursive: true, force: true })
  }
  for (const pkg of await readdir(join(from, "usr", "share", "doc")))
    await keep(join("usr", "share", "doc", pkg, "copyright"))
  await cp(join(libraries, "status.d"), join(into, "var", "lib", "dpkg", "status.d"), { recursive: true })
  await mkdir(join(into, "etc"), { recursive: true })
  await writeFile(
    join(into, "etc", "passwd"),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:${operatorUser}:${operatorUser}:node:/home/node:/usr/sbin/nologin\n`,
  )
  await writeFile(join(into, "etc", "group"), `root:x:0:\nnode:x:${operatorUser}:\n`)
  // glibc without nsswitch.conf asks DNS before /etc/hosts; Kubernetes writes the pod's own names into /etc/hosts.
  await writeFile(join(into, "etc", "nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n")
  await mkdir(join(into, "home", "node"), { recursive: true })
  await mkdir(join(into, "root"), { recursive: true, mode: 0o700 })
  await mkdir(join(into, "tmp"), { recursive: true })
  await chmod(join(into, "tmp"), 0o1777)
}

/**
 * Builds the operator image for `platforms` (Debian architecture names) into the OCI archive `out`, one manifest
 * per platform under one index when there are several. `bundleFile`: a bundle already built (else it is built).
 * `reference`: the name the archive gives the image (default: install/kustomization.yaml's, tagged with the version);
 * it is not part of the image, whose digest stays the same under any name.
 * Resolves with `{ path, digest, reference, platforms }`.
 */
export const buildOperatorImage = async ({
  out,
  platforms = ["amd64", "arm64"],
  bundleFile,
  reference: named,
  cacheDir,
  log = (line) => process.stderr.write(`[operator image] ${line}\n`),
} = {}) => {
  const work = await mkdtemp(join(tmpdir(), "cartographer-operator-image-"))
  try {
    const app = join(work, "app")
    await mkdir(join(app, "app"), { recursive: true })
    const bundled = join(app, "app", "cartographer.mjs")
    if (bundleFile === undefined) await bundle({ outfile: bundled })
    else await cp(bundleFile, bundled)
    await chmod(bundled, 0o444)
    const nodeVersion = await pinnedNodeVersion()
    const { revision, epoch } = await sourceRevision()
    const labels = await operatorLabels({ revision })
    const reference = named === undefined ? await operatorImageReference() : normalizeReference(named)
    // Root owns everything but the user's home, whoever builds the trees.
    const owner = (path) => (path === "home/node" ? { uid: operatorUser, gid: operatorUser } : { uid: 0, gid: 0 })
    const blobs = join(work, "blobs")
    await mkdir(blobs)
    const images = []
    for (const arch of platforms) {
      if (!(arch in debianArch)) throw new Error(`--platform ${arch}: amd64 or arm64`)
      const runtime = join(work, `runtime-${arch}`)
      const node = join(work, `node-${arch}`)
      await runtimeTree(await runtimeLibraries(arch, cacheDir, work, log), runtime)
      await nodeRuntime(arch, nodeVersion, cacheDir, work, node, log)
      log(`writing the layers for linux/${arch}`)
      const layers = []
      for (const [tree, comment] of [
        [runtime, `Debian ${runtimeSuite} ${runtimePackages.join(", ")}; users root and node (${operatorUser})`],
        [node, `node ${nodeVersion} (npm node-linux-${npmArch[arch]})`],
        [app, "the cartographer CLI bundle"],
      ]) {
        const blob = await writeLayer(tree, join(blobs, `${arch}-${layers.length}`), {
          epoch,
          owner,
          compression: "gzip",
        })
        layers.push({ ...blob, comment })
      }
      images.push({ platform: platformOf(arch), config: operatorConfig({ nodeVersion, labels }), layers })
    }
    await mkdir(dirname(out), { recursive: true })
    const archive = await writeOciArchive({
      out,
      reference,
      images,
      // Docker's own image store holds one platform per tag: the common one.
      dockerLoad: platforms.includes("amd64") ? "amd64" : platforms[0],
      created: new Date(epoch * 1000).toISOString().replace(/\.000Z$/u, "Z"),
    })
    return { ...archive, reference, platforms }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** The bytes that decide the operator image, for a cache key: recipe, bundle, node version, commit and platforms. */
export const operatorImageKey = async ({ bundleFile, platforms }) => {
  const hash = createHash("sha256")
  for (const file of recipeFiles) hash.update(await readFile(file))
  hash.update(await sha256File(bundleFile))
  const { revision, epoch } = await sourceRevision()
  hash.update(
    JSON.stringify({
      node: await pinnedNodeVersion(),
      revision,
      epoch,
      platforms,
      labels: await operatorLabels({ revision }),
    }),
  )
  return hash.digest("hex")
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { out: { type: "string" }, platform: { type: "string" }, cache: { type: "string" } },
  })
  if (values.out === undefined) {
    process.stderr.write(
      "usage: node scripts/image/operator.mjs --out <archive.tar> [--platform amd64,arm64] [--cache <dir>]\n",
    )
    process.exit(2)
  }
  const result = await buildOperatorImage({
    out: values.out,
    ...(values.platform === undefined ? {} : { platforms: values.platform.split(",") }),
    ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
  })
  console.log(`${result.reference}\t${result.path}\t${result.digest}`)
}
