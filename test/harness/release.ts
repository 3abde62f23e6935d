// The release as a team gets it: `npm run release` run as a maintainer runs it (a child process, into a directory of
// its own), and its zip unpacked with `unzip` into an empty folder. The suites that install from it read nothing
// else of the checkout.
import { mkdir, readdir, rm } from "node:fs/promises"
import { homedir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ownedTempDir, run } from "./processes.js"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))

/**
 * Where releases of the tests keep Debian's libraries and node's npm package (`--cache`): a release of its own
 * fetches them afresh, the tests need not. The builder writes it safely from several processes at once.
 */
const releaseCache = join(process.env.CARTOGRAPHER_CACHE ?? join(homedir(), ".cache", "cartographer"), "release")

export interface ReleaseOptions {
  /** `--image`: the operator image the zip's kustomization names. */
  readonly image?: string
  /** `--pin-digest`: pin it to the built image's digest as well. */
  readonly pinDigest?: boolean
}

export interface Release {
  /** The directory `npm run release` wrote into, and nothing else did. */
  readonly dir: string
  readonly version: string
  readonly zip: string
  readonly image: string
  readonly checksums: string
  /** What `npm run release` printed (its last lines name the image and its digest). */
  readonly output: string
  remove(): Promise<void>
}

/** Runs `npm run release` into a fresh directory; rejects with its output when it fails. */
export const runRelease = async (options: ReleaseOptions = {}): Promise<Release> => {
  const { dir, forget } = await ownedTempDir("cartographer-release-")
  const out = join(dir, "out")
  const args = ["run", "--silent", "release", "--", "--out-dir", out, "--cache", releaseCache]
  if (options.image !== undefined) args.push("--image", options.image)
  if (options.pinDigest) args.push("--pin-digest")
  const result = await run("npm", args, { cwd: repoRoot, timeoutMs: 15 * 60_000 })
  if (result.code !== 0) {
    await rm(dir, { recursive: true, force: true })
    forget()
    throw new Error(`npm ${args.join(" ")} exited ${result.code}:\n${result.stderr}`)
  }
  const names = await readdir(out)
  const zip = names.find((n) => /^cartographer-.+\.zip$/u.test(n))
  const version = /^cartographer-(.+)\.zip$/u.exec(zip ?? "")?.[1]
  if (zip === undefined || version === undefined) throw new Error(`npm run release wrote no zip: ${names.join(", ")}`)
  return {
    dir: out,
    version,
    zip: join(out, zip),
    image: join(out, `cartographer-${version}-image.tar`),
    checksums: join(out, "SHA256SUMS"),
    output: result.stdout,
    remove: async () => {
      await rm(dir, { recursive: true, force: true })
      forget()
    },
  }
}

/** `unzip` of the release zip into `into`, which must not exist yet or be empty. */
export const unpackRelease = async (zip: string, into: string): Promise<void> => {
  await mkdir(into, { recursive: true })
  const present = await readdir(into)
  if (present.length > 0) throw new Error(`${into} is not empty: ${present.join(", ")}`)
  const result = await run("unzip", ["-q", zip, "-d", into])
  if (result.code !== 0) throw new Error(`unzip ${zip}: ${result.stderr}${result.stdout}`)
}
