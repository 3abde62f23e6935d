// Debian sources for an image's release, derived from a machine's apt configuration (scripts/image/debian.mjs).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { debianSources } from "../../../scripts/image/debian.mjs"

const dirs: Array<string> = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

/** A machine's /etc/apt and os-release, with made-up mirrors. */
const machine = async (files: Record<string, string>, codename = "bookworm") => {
  const root = await mkdtemp(join(tmpdir(), "cartographer-debian-test-"))
  dirs.push(root)
  await mkdir(join(root, "apt", "sources.list.d"), { recursive: true })
  for (const [name, text] of Object.entries(files)) await writeFile(join(root, "apt", name), text)
  await writeFile(join(root, "os-release"), `PRETTY_NAME="Debian"\nVERSION_CODENAME=${codename}\n`)
  return { etc: join(root, "apt"), osRelease: join(root, "os-release") }
}

describe("debianSources", () => {
  it("turns the machine's Debian entries to another release, security and updates included", async () => {
    const host = await machine({
      "sources.list.d/debian.sources": [
        "Types: deb",
        "# a comment",
        "URIs: http://mirror.example/debian",
        "Suites: bookworm bookworm-updates",
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
        "",
        "Types: deb",
        "URIs: http://mirror.example/debian-security",
        "Suites: bookworm-security",
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
        "",
      ].join("\n"),
    })
    expect(await debianSources("trixie", host)).toEqual([
      "deb http://mirror.example/debian trixie main",
      "deb http://mirror.example/debian trixie-updates main",
      "deb http://mirror.example/debian-security trixie-security main",
    ])
  })

  it("reads one-line lists too, and leaves out third-party repositories and source entries", async () => {
    const host = await machine({
      "sources.list": [
        "deb http://local.example/debian bookworm main contrib",
        "deb-src http://local.example/debian bookworm main",
        "deb [signed-by=/etc/apt/keyrings/vendor.gpg] http://vendor.example/apt bookworm-vendor main",
        "",
      ].join("\n"),
      "sources.list.d/extra.list": "deb http://local.example/debian-security bookworm-security main\n",
    })
    expect(await debianSources("trixie", host)).toEqual([
      "deb http://local.example/debian trixie main contrib",
      "deb http://local.example/debian-security trixie-security main",
    ])
  })

  it("says so when the machine has no Debian entries to derive from", async () => {
    const host = await machine({ "sources.list": "" })
    await expect(debianSources("trixie", host)).rejects.toThrow(/no Debian bookworm entries/u)
  })
})
