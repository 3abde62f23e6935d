// A container image layer from a root filesystem directory: every file below it, or, given the directory it was
// copied from (its parent layer's tree), only what changed since, with OCI whiteouts for what was removed.
//
// What makes the bytes depend only on the tree: entries sorted by name, numeric owners without names, no atime or
// ctime, and (when an epoch is given) modification times clamped to it. Without an epoch the times are kept as they
// are: Python checks a .pyc against its source's mtime, so a clamped Python tree would recompile on every start.
import { createHash } from "node:crypto"
import { createWriteStream } from "node:fs"
import { lstat, readdir, readlink, rename, rm } from "node:fs/promises"
import { join } from "node:path"
import { pipeline } from "node:stream/promises"
import { constants, createGzip, createZstdCompress } from "node:zlib"
import { TarType, tarChunks } from "./tar.mjs"

export const layerMediaType = {
  none: "application/vnd.oci.image.layer.v1.tar",
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
}

/**
 * Compressors with fixed settings (the output then depends only on the input and the zlib/zstd that Node bundles).
 * gzip for what ships (every runtime reads it); zstd, several times faster at both ends, for images built here.
 */
const compressors = {
  none: () => [],
  gzip: () => [createGzip({ level: 6 })],
  zstd: () => [createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: 3 } })],
}

/** Mount points the runtime fills: kept as empty directories. */
const runtimeMounts = new Set(["dev", "proc", "sys"])

const kindOf = (stat) =>
  stat.isDirectory()
    ? TarType.dir
    : stat.isFile()
      ? TarType.file
      : stat.isSymbolicLink()
        ? TarType.symlink
        : stat.isCharacterDevice()
          ? TarType.char
          : stat.isBlockDevice()
            ? TarType.block
            : stat.isFIFO()
              ? TarType.fifo
              : undefined

const lstatOrUndefined = (path) =>
  lstat(path, { bigint: true }).catch((error) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined
    throw error
  })

/** Whether a parent's entry stands unchanged in the child (same kind, owner, mode, size, time and link target). */
const unchanged = async (stat, childPath, parentStat, parentPath) => {
  if (parentStat === undefined) return false
  const kind = kindOf(stat)
  if (kind !== kindOf(parentStat)) return false
  if (stat.mode !== parentStat.mode || stat.uid !== parentStat.uid || stat.gid !== parentStat.gid) return false
  if (stat.mtimeNs !== parentStat.mtimeNs) return false
  if (kind === TarType.file) return stat.size === parentStat.size
  if (kind === TarType.symlink) return (await readlink(childPath)) === (await readlink(parentPath))
  if (kind === TarType.char || kind === TarType.block) return stat.rdev === parentStat.rdev
  return true
}

const byName = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))

const major = (rdev) => Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn))
const minor = (rdev) => Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))

/**
 * The tar entries of `root` (depth first, names sorted bytewise): all of them, or with `parent` the differences.
 * Hard links become link entries to the first path of theirs in this layer. `owner(path)`, when given, returns the
 * `{ uid, gid }` an entry is archived with (a tree built without root privileges then still has root's files).
 */
export async function* rootfsEntries(root, { parent, epoch, owner } = {}) {
  const time = (stat) => {
    const seconds = Number(stat.mtimeNs / 1_000_000_000n)
    return epoch === undefined ? seconds : Math.min(seconds, epoch)
  }
  const links = new Map()
  async function* walk(relative) {
    const dir = join(root, relative)
    const names = await readdir(dir)
    const parentNames = parent === undefined ? [] : await readdir(join(parent, relative)).catch(() => [])
    const here = new Set(names)
    const all = [...new Set([...names, ...parentNames])].sort(byName)
    for (const name of all) {
      const path = relative === "" ? name : `${relative}/${name}`
      const childPath = join(root, path)
      const parentPath = parent === undefined ? undefined : join(parent, path)
      if (!here.has(name)) {
        // Gone from the child: a whiteout hides the parent's entry (and, for a directory, all below it).
        const whiteout = relative === "" ? `.wh.${name}` : `${relative}/.wh.${name}`
        yield { path: whiteout, type: TarType.file, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: epoch ?? 0 }
        continue
      }
      const stat = await lstat(childPath, { bigint: true })
      const kind = kindOf(stat)
      if (kind === undefined) continue // sockets: nothing a layer can carry
      const parentStat = parentPath === undefined ? undefined : await lstatOrUndefined(parentPath)
      const same = await unchanged(stat, childPath, parentStat, parentPath)
      const base = {
        mode: Number(stat.mode & 0o7777n),
        uid: Number(stat.uid),
        gid: Number(stat.gid),
        mtime: time(stat),
        ...owner?.(path),
      }
      if (kind === TarType.dir) {
        if (!same) yield { ...base, path: `${path}/`, type: TarType.dir, size: 0 }
        if (!(relative === "" && runtimeMounts.has(name))) yield* walk(path)
        continue
      }
      if (same) continue
      if (kind === TarType.file) {
        const inode = `${stat.dev}:${stat.ino}`
        const first = stat.nlink > 1n ? links.get(inode) : undefined
        if (first !== undefined) {
          yield { ...base, path, type: TarType.hardlink, size: 0, linkname: first }
          continue
        }
        if (stat.nlink > 1n) links.set(inode, path)
        yield { ...base, path, type: TarType.file, size: Number(stat.size), source: childPath }
      } else if (kind === TarType.symlink) {
        yield { ...base, path, type: TarType.symlink, size: 0, linkname: await readlink(childPath) }
      } else if (kind === TarType.char || kind === TarType.block) {
        yield { ...base, path, type: kind, size: 0, devmajor: major(stat.rdev), devminor: minor(stat.rdev) }
      } else {
        yield { ...base, path, type: kind, size: 0 }
      }
    }
  }
  yield* walk("")
}

/** Passes chunks through while hashing them (sha256) and counting their bytes. */
const measure = () => {
  const hash = createHash("sha256")
  const result = { size: 0, digest: "" }
  const through = async function* (source) {
    for await (const chunk of source) {
      hash.update(chunk)
      result.size += chunk.length
      yield chunk
    }
    result.digest = `sha256:${hash.digest("hex")}`
  }
  return { through, result }
}

/**
 * Writes a blob of tar `chunks` to `out` (written under a temporary name, renamed when complete), compressed or not.
 * Resolves with its descriptor fields: `{ mediaType, digest, size, diffId, path }` (diffId: the uncompressed tar's).
 */
export const writeTarBlob = async (chunks, out, { compression = "gzip" } = {}) => {
  const uncompressed = measure()
  const stored = measure()
  const partial = `${out}.partial-${process.pid}`
  try {
    const stages = compressors[compression]()
    await pipeline(chunks, uncompressed.through, ...stages, stored.through, createWriteStream(partial))
    await rename(partial, out)
  } catch (error) {
    await rm(partial, { force: true })
    throw error
  }
  return {
    mediaType: layerMediaType[compression],
    digest: stored.result.digest,
    size: stored.result.size,
    diffId: uncompressed.result.digest,
    path: out,
  }
}

/** A layer blob of the tree `root` (see rootfsEntries for `parent` and `epoch`). */
export const writeLayer = (root, out, { parent, epoch, owner, compression = "gzip" } = {}) =>
  writeTarBlob(tarChunks(rootfsEntries(root, { parent, epoch, owner })), out, { compression })
