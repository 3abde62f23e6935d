// The images of the node tests as build-images.sh builds them, imported into a containerd of the suite's own and run
// as containers there: what every image suite (images.it.test.ts, prefectImage.it.test.ts, …) starts from.
//
// Containers run under `ctr run`, which takes the image's config (user, environment, working directory) but, given a
// command, replaces entrypoint and command both: `withEntrypoint` puts the image's entrypoint in front, and a `user`
// runs the command through setpriv (ctr has no --user), as the kubelet's runAsUser would.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { chmod, chown, mkdir } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { pollUntil } from "../../harness/network.js"
import { ownedTempDir } from "../../harness/processes.js"
import { type OciConfig, readArchive } from "./archive.js"
import { type Containerd, type CtrResult, missingPrerequisites, startContainerd } from "./containerd.js"
import { images } from "./images.js"

const buildScript = fileURLToPath(new URL("./build-images.sh", import.meta.url))

/** The repository's version: the operator image's tag. */
export const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
  version: string
}
export const operatorReference = `docker.io/library/cartographer:${version}`

/** The full reference of the image images.ts names `short`. */
export const reference = (short: string) => images.find((i) => i.short === short)?.reference ?? short

export const output = (result: CtrResult) => `${result.stdout}${result.stderr}`

/** build-images.sh's `<reference>\t<archive>` lines; its progress goes to the test's stderr. */
const buildImages = () =>
  new Promise<Map<string, string>>((resolve, reject) => {
    const child = spawn("bash", [buildScript], { stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.once("error", reject)
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`${buildScript} failed with exit code ${code}`))
      const lines = stdout
        .trim()
        .split("\n")
        .map((l) => l.split("\t") as [string, string])
      resolve(new Map(lines))
    })
  })

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>
  /** host directory → container path, read-write. */
  readonly mounts?: Readonly<Record<string, string>>
  readonly readOnly?: boolean
  /** Run as this uid (and gid, and supplementary group), as runAsUser/runAsGroup/fsGroup would. */
  readonly user?: number
  readonly netns?: string
}

const ctrRunFlags = (options: RunOptions) => [
  ...(options.readOnly ? ["--read-only"] : []),
  ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
  ...Object.entries(options.mounts ?? {}).flatMap(([src, dst]) => [
    "--mount",
    `type=bind,src=${src},dst=${dst},options=rbind:rw`,
  ]),
  ...(options.netns ? ["--with-ns", `network:${options.netns}`] : []),
]

const asUser = (options: RunOptions, argv: ReadonlyArray<string>) =>
  options.user === undefined
    ? [...argv]
    : ["setpriv", `--reuid=${options.user}`, `--regid=${options.user}`, `--groups=${options.user}`, "--", ...argv]

/** A container started in the background. */
export interface StartedContainer {
  readonly id: string
  /** Its output. */
  readonly log: string
  /** Runs another process in it. */
  exec(command: ReadonlyArray<string>): Promise<CtrResult>
  running(): Promise<boolean>
  /** Signals it (SIGKILL when it does not end in time) and removes it. */
  stop(signal?: string): Promise<void>
}

export interface ImageContainers {
  /** Every image build-images.sh built: reference → archive. */
  readonly archives: () => ReadonlyMap<string, string>
  readonly containerd: () => Containerd
  /** The config of an imported image. */
  readonly config: (ref: string) => OciConfig["config"] | undefined
  /** The image's entrypoint followed by `args`, as a pod that sets only `args` runs. */
  readonly withEntrypoint: (ref: string, args: ReadonlyArray<string>) => ReadonlyArray<string>
  /** Runs a container to its end; resolves with its exit code and output. */
  readonly runToEnd: (ref: string, argv: ReadonlyArray<string>, options?: RunOptions) => Promise<CtrResult>
  readonly start: (ref: string, argv: ReadonlyArray<string>, options?: RunOptions) => Promise<StartedContainer>
  /** A directory for a volume: owned by root (or `owner`) with group `gid`, group-writable and setgid, as fsGroup
   * leaves it. */
  readonly volume: (name: string, gid: number, options?: { owner?: number }) => Promise<string>
  /** A directory of the suite's own for anything else. */
  readonly scratch: () => string
}

/**
 * For the calling suite: builds the images (cached by content), starts a containerd of its own and imports the
 * images `wanted` picks by reference (all by default) before its tests; stops containerd after them.
 */
export const useImageContainers = (wanted: (reference: string) => boolean = () => true): ImageContainers => {
  let archives: Map<string, string> | undefined
  let containerd: Containerd | undefined
  let scratch: string | undefined
  const configs = new Map<string, OciConfig["config"]>()
  let sequence = 0
  const ready = <A>(value: A | undefined): A => {
    if (value === undefined) throw new Error("the images' containerd exists inside the suite's tests only")
    return value
  }

  beforeAll(async () => {
    const missing = missingPrerequisites()
    if (missing !== undefined) throw new Error(missing)
    archives = await buildImages()
    scratch = (await ownedTempDir("cartographer-images-test-")).dir
    containerd = await startContainerd()
    for (const [ref, archive] of archives) {
      if (!wanted(ref)) continue
      const imported = await containerd.ctr(["images", "import", archive], 600_000)
      if (imported.code !== 0) throw new Error(`ctr images import ${archive}: ${output(imported)}`)
      configs.set(ref, (await readArchive(archive)).images[0]?.config.config ?? {})
    }
  }, 30 * 60_000)
  afterAll(async () => {
    await containerd?.stop()
  }, 120_000)

  const ctr = (args: ReadonlyArray<string>) => ready(containerd).ctr(args)

  const start = async (ref: string, argv: ReadonlyArray<string>, options: RunOptions = {}) => {
    const id = `t${++sequence}`
    const log = join(ready(scratch), `${id}.log`)
    const started = await ctr([
      "run",
      "-d",
      "--log-uri",
      `file://${log}`,
      ...ctrRunFlags(options),
      ref,
      id,
      ...asUser(options, argv),
    ])
    if (started.code !== 0) throw new Error(`ctr run ${ref}: ${output(started)}`)
    let execs = 0
    return {
      id,
      log,
      exec: (command: ReadonlyArray<string>) => ctr(["tasks", "exec", "--exec-id", `${id}-${++execs}`, id, ...command]),
      running: async () =>
        / RUNNING/u.test((await ctr(["tasks", "ls"])).stdout.split("\n").find((l) => l.startsWith(`${id} `)) ?? ""),
      stop: async (signal = "SIGTERM") => {
        await ctr(["tasks", "kill", "-s", signal, id])
        await pollUntil(
          `${id} to stop`,
          async () => ((await ctr(["tasks", "delete", id])).code === 0 ? true : undefined),
          {
            timeoutMs: 30_000,
          },
        ).catch(async () => {
          await ctr(["tasks", "kill", "-s", "SIGKILL", id])
          await ctr(["tasks", "delete", id])
        })
        await ctr(["containers", "delete", id])
      },
    }
  }

  return {
    archives: () => ready(archives),
    containerd: () => ready(containerd),
    config: (ref) => configs.get(ref),
    withEntrypoint: (ref, args) => [...(configs.get(ref)?.Entrypoint ?? []), ...args],
    runToEnd: (ref, argv, options = {}) =>
      ctr(["run", "--rm", ...ctrRunFlags(options), ref, `t${++sequence}`, ...asUser(options, argv)]),
    start,
    volume: async (name, gid, options = {}) => {
      const dir = join(ready(scratch), name)
      await mkdir(dir, { recursive: true })
      await chown(dir, options.owner ?? 0, gid)
      await chmod(dir, 0o2775)
      return dir
    },
    scratch: () => ready(scratch),
  }
}
