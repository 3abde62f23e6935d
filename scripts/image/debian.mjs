// Where Debian packages come from: the machine's own apt sources, read at run time and turned to another release
// (a bookworm machine builds trixie images from the same mirror). Nothing here names a mirror: a machine that uses
// a local or corporate mirror builds from it.
//
//   node scripts/image/debian.mjs <suite>    prints the one-line sources for <suite>, e.g. for mmdebstrap's stdin
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** Splits a deb822 file into stanzas of fields (continuation lines folded, comments dropped). */
const deb822 = (text) =>
  text
    .split(/\n\s*\n/u)
    .map((stanza) => {
      const fields = {}
      let last
      for (const line of stanza.split("\n")) {
        if (line.startsWith("#") || line.trim() === "") continue
        if (/^\s/u.test(line) && last !== undefined) fields[last] += ` ${line.trim()}`
        else {
          const colon = line.indexOf(":")
          last = line.slice(0, colon).trim().toLowerCase()
          fields[last] = line.slice(colon + 1).trim()
        }
      }
      return fields
    })
    .filter((fields) => Object.keys(fields).length > 0)

/** `deb [options] uri suite components…` lines of a sources.list, as entries. */
const oneLine = (text) =>
  text
    .split("\n")
    .map((line) => line.replace(/#.*$/u, "").trim())
    .filter((line) => line.startsWith("deb "))
    .map((line) => {
      const options = /^deb\s+\[([^\]]*)\]/u.exec(line)?.[1] ?? ""
      const [uri, suite, ...components] = line.replace(/^deb\s+(\[[^\]]*\]\s+)?/u, "").split(/\s+/u)
      const signedBy = /signed-by=(\S+)/u.exec(options)?.[1]
      return { types: "deb", uris: uri, suites: suite, components: components.join(" "), "signed-by": signedBy }
    })

const readOr = (path) => readFile(path, "utf8").catch(() => "")

/** The machine's apt source entries (deb822 `.sources` files and one-line `.list` files). */
export const hostSources = async (etc = "/etc/apt") => {
  const dir = join(etc, "sources.list.d")
  const names = (await readdir(dir).catch(() => [])).sort()
  const entries = [...oneLine(await readOr(join(etc, "sources.list")))]
  for (const name of names) {
    const text = await readOr(join(dir, name))
    if (name.endsWith(".sources")) entries.push(...deb822(text))
    else if (name.endsWith(".list")) entries.push(...oneLine(text))
  }
  return entries
}

/** The machine's release code name (`VERSION_CODENAME` of os-release), e.g. bookworm. */
export const hostCodename = async (osRelease = "/etc/os-release") =>
  /^VERSION_CODENAME=["']?([a-z]+)/mu.exec(await readOr(osRelease))?.[1]

/**
 * One-line sources for Debian `suite` on the machine's Debian mirrors: every `deb` entry signed by (or, unsigned,
 * shaped like) Debian's archive, with the machine's release in each suite name replaced (bookworm-security →
 * trixie-security). Other repositories (third-party suites) are left out: they need not exist for another release.
 */
export const debianSources = async (suite, { etc = "/etc/apt", osRelease = "/etc/os-release" } = {}) => {
  const codename = await hostCodename(osRelease)
  if (codename === undefined) throw new Error(`${osRelease} names no VERSION_CODENAME: not a Debian machine?`)
  const lines = []
  for (const entry of await hostSources(etc)) {
    if (!(entry.types ?? "").split(/\s+/u).includes("deb")) continue
    if (entry.enabled === "no") continue
    const signedBy = entry["signed-by"] ?? ""
    const uris = (entry.uris ?? "").split(/\s+/u).filter(Boolean)
    const debian =
      signedBy.includes("debian-archive-keyring") ||
      (signedBy === "" && uris.every((u) => /\/debian(-security)?\/?$/u.test(u)))
    if (!debian) continue
    for (const uri of uris) {
      for (const hostSuite of (entry.suites ?? "").split(/\s+/u).filter(Boolean)) {
        if (hostSuite !== codename && !hostSuite.startsWith(`${codename}-`)) continue
        const line = `deb ${uri} ${suite}${hostSuite.slice(codename.length)} ${entry.components || "main"}`
        if (!lines.includes(line)) lines.push(line)
      }
    }
  }
  if (lines.length === 0)
    throw new Error(`no Debian ${codename} entries in ${etc}/sources.list(.d) to derive ${suite} from`)
  return lines
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const suite = process.argv[2]
  if (suite === undefined) {
    process.stderr.write("usage: node scripts/image/debian.mjs <suite>\n")
    process.exit(2)
  }
  process.stdout.write(`${(await debianSources(suite)).join("\n")}\n`)
}
