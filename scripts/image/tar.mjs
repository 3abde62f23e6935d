// A tar writer whose output depends only on the entries it is given (no clock, no user names, no host paths), and a
// small streaming reader for checking what was written. Container image layers and OCI archives are tar files; GNU
// tar can be told to be deterministic, but its bytes may change between its versions, and a shipped image must come
// out the same on any machine that has the same inputs.
//
// The format is POSIX ustar; a pax extended header is added only for what ustar cannot hold (long paths and link
// targets, sizes of 8 GiB and more, large ids), and it never carries atime or ctime.
import { createReadStream } from "node:fs"
import { open } from "node:fs/promises"

const BLOCK = 512
const zeros = Buffer.alloc(BLOCK)

/** Entry types, as tar's typeflag. */
export const TarType = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
  pax: "x",
}

const octal = (value, width) => `${value.toString(8).padStart(width - 1, "0")}\0`

const fits = (value, width) => value >= 0 && value < 8 ** (width - 1)

/** Splits a path into ustar's prefix (155 bytes) and name (100 bytes), or undefined when it cannot be. */
const splitUstar = (path) => {
  const bytes = Buffer.byteLength(path)
  if (bytes <= 100) return { prefix: "", name: path }
  if (bytes > 256) return undefined
  for (let at = path.indexOf("/"); at > 0; at = path.indexOf("/", at + 1)) {
    const prefix = path.slice(0, at)
    const name = path.slice(at + 1)
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== "") return { prefix, name }
  }
  return undefined
}

/** One pax record: "<length> <key>=<value>\n", where length counts its own digits too. */
const paxRecord = (key, value) => {
  const body = ` ${key}=${value}\n`
  const bodyLength = Buffer.byteLength(body)
  let length = bodyLength + 1
  while (length !== bodyLength + String(length).length) length = bodyLength + String(length).length
  return `${length}${body}`
}

const ustarHeader = ({ name, prefix, mode, uid, gid, size, mtime, type, linkname, devmajor, devminor }) => {
  const header = Buffer.alloc(BLOCK)
  header.write(name, 0, 100)
  header.write(octal(mode & 0o7777, 8), 100)
  header.write(octal(uid, 8), 108)
  header.write(octal(gid, 8), 116)
  header.write(octal(size, 12), 124)
  header.write(octal(mtime, 12), 136)
  header.write(" ".repeat(8), 148)
  header.write(type, 156)
  header.write(linkname, 157, 100)
  header.write("ustar\0", 257)
  header.write("00", 263)
  header.write(octal(devmajor, 8), 329)
  header.write(octal(devminor, 8), 337)
  header.write(prefix, 345, 155)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148)
  return header
}

/**
 * The header block(s) of one entry: `{ path, type, mode, uid, gid, size, mtime, linkname?, devmajor?, devminor? }`,
 * with `mtime` in whole seconds and directories' paths ending in "/".
 */
export const entryHeader = (entry) => {
  const { path, type, mode, uid, gid, mtime } = entry
  const size = type === TarType.file || type === TarType.pax ? entry.size : 0
  const linkname = entry.linkname ?? ""
  const pax = []
  const split = /^[\x20-\x7e]*$/u.test(path) ? splitUstar(path) : undefined
  if (split === undefined) pax.push(paxRecord("path", path))
  if (Buffer.byteLength(linkname) > 100 || !/^[\x20-\x7e]*$/u.test(linkname)) pax.push(paxRecord("linkpath", linkname))
  if (!fits(size, 12)) pax.push(paxRecord("size", String(size)))
  if (!fits(uid, 8)) pax.push(paxRecord("uid", String(uid)))
  if (!fits(gid, 8)) pax.push(paxRecord("gid", String(gid)))
  const fields = {
    name: split?.name ?? path.slice(0, 100),
    prefix: split?.prefix ?? "",
    mode,
    uid: fits(uid, 8) ? uid : 0,
    gid: fits(gid, 8) ? gid : 0,
    size: fits(size, 12) ? size : 0,
    mtime: Math.max(0, Math.min(mtime, 8 ** 11 - 1)),
    type,
    linkname: Buffer.byteLength(linkname) > 100 ? "" : linkname,
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  }
  const header = ustarHeader(fields)
  if (pax.length === 0) return [header]
  const records = Buffer.from(pax.join(""))
  const paxHeader = ustarHeader({
    ...fields,
    name: "PaxHeader",
    prefix: "",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    type: TarType.pax,
    linkname: "",
    devmajor: 0,
    devminor: 0,
  })
  return [paxHeader, records, padding(records.length), header]
}

const padding = (size) => zeros.subarray(0, (BLOCK - (size % BLOCK)) % BLOCK)

/**
 * Tar bytes for `entries` (an iterable or async iterable), in the order given. An entry's content is `data` (a
 * Buffer) or `source` (a file read when its turn comes, which must still have `size` bytes).
 */
export async function* tarChunks(entries) {
  for await (const entry of entries) {
    yield* entryHeader(entry)
    if (entry.type !== TarType.file || entry.size === 0) continue
    if (entry.data !== undefined) {
      yield entry.data
    } else {
      let read = 0
      for await (const chunk of createReadStream(entry.source, { highWaterMark: 1 << 20 })) {
        read += chunk.length
        if (read > entry.size) break
        yield chunk
      }
      if (read !== entry.size)
        throw new Error(`${entry.source} changed while it was archived (${read} of ${entry.size})`)
    }
    yield padding(entry.size)
  }
  yield zeros
  yield zeros
}

const field = (header, offset, length) => {
  const end = header.indexOf(0, offset)
  return header.toString("utf8", offset, end === -1 || end > offset + length ? offset + length : end)
}
const number = (header, offset, length) => {
  const text = field(header, offset, length).trim()
  return text === "" ? 0 : Number.parseInt(text, 8)
}
const parsePax = (data) => {
  const records = {}
  let at = 0
  while (at < data.length) {
    const space = data.indexOf(0x20, at)
    const length = Number(data.toString("utf8", at, space))
    const record = data.toString("utf8", space + 1, at + length - 1)
    const eq = record.indexOf("=")
    records[record.slice(0, eq)] = record.slice(eq + 1)
    at += length
  }
  return records
}

/** Reads exactly `length` bytes from a chunk stream (fewer at its end), keeping what is left over. */
const byteReader = (stream) => {
  const iterator = stream[Symbol.asyncIterator]()
  let pending = Buffer.alloc(0)
  return async (length) => {
    if (pending.length >= length) {
      const out = pending.subarray(0, length)
      pending = pending.subarray(length)
      return out
    }
    const parts = [pending]
    let have = pending.length
    while (have < length) {
      const { value, done } = await iterator.next()
      if (done) break
      parts.push(value)
      have += value.length
    }
    const all = Buffer.concat(parts)
    pending = all.subarray(Math.min(length, all.length))
    return all.subarray(0, Math.min(length, all.length))
  }
}

/**
 * The entries of a tar stream (a file path or a stream of chunks), as `{ path, type, mode, uid, gid, size, mtime,
 * linkname, pax, data? }`; the content is read into `data` only when `wantData(path)` says so.
 */
export async function* readTar(input, wantData = () => false) {
  const stream = typeof input === "string" ? createReadStream(input, { highWaterMark: 1 << 20 }) : input
  const read = byteReader(stream)
  let pax = {}
  for (;;) {
    const header = await read(BLOCK)
    if (header.length < BLOCK || header.equals(zeros)) return
    const type = String.fromCharCode(header[156] || 0x30)
    const prefix = field(header, 345, 155)
    const name = field(header, 0, 100)
    const size = pax.size === undefined ? number(header, 124, 12) : Number(pax.size)
    const padded = size + ((BLOCK - (size % BLOCK)) % BLOCK)
    if (type === TarType.pax) {
      pax = parsePax((await read(padded)).subarray(0, size))
      continue
    }
    const entry = {
      path: pax.path ?? (prefix === "" ? name : `${prefix}/${name}`),
      type,
      mode: number(header, 100, 8),
      uid: pax.uid === undefined ? number(header, 108, 8) : Number(pax.uid),
      gid: pax.gid === undefined ? number(header, 116, 8) : Number(pax.gid),
      size,
      mtime: number(header, 136, 12),
      linkname: pax.linkpath ?? field(header, 157, 100),
      uname: field(header, 265, 32),
      gname: field(header, 297, 32),
      pax,
    }
    pax = {}
    if (wantData(entry.path)) {
      entry.data = (await read(padded)).subarray(0, size)
    } else {
      for (let left = padded; left > 0; left -= 1 << 20) await read(Math.min(left, 1 << 20))
    }
    yield entry
  }
}

/** Reads one member of a tar file into memory (for index.json, manifests, configs), or undefined. */
export const readTarMember = async (file, path) => {
  for await (const entry of readTar(file, (p) => p === path)) if (entry.path === path) return entry.data
  return undefined
}

/** The first `length` bytes of a file, e.g. to tell a gzip stream from a plain tar. */
export const readHead = async (file, length) => {
  const handle = await open(file, "r")
  try {
    const buffer = Buffer.alloc(length)
    const { bytesRead } = await handle.read(buffer, 0, length, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}
