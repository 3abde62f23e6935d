// A containerd of the test's own (private socket, root and state in a temp dir; no CRI plugin), to import image
// archives into and run their containers with `ctr`, as the node's containerd will. Stopped and removed by the test.
import { execFile } from "node:child_process"
import { readdir, readFile, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { pollUntil } from "../../harness/network.js"
import { launch, logTail, type ManagedProcess, ownedTempDir } from "../../harness/processes.js"
import { onPath } from "../prerequisites.js"

export interface CtrResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface Containerd {
  readonly dir: string
  /** `ctr --address <socket> -n k8s.io <args…>`: resolves with the exit code and output, even on failure. */
  ctr(args: ReadonlyArray<string>, timeoutMs?: number): Promise<CtrResult>
  /** Kills what still runs, stops containerd and removes its directory. */
  stop(): Promise<void>
}

/** Everything the image tests run: the image builder's tools, containerd and runc, and netns/setpriv helpers. */
export const imageTestTools = [
  "containerd",
  "ctr",
  "runc",
  "mmdebstrap",
  "unshare",
  "nsenter",
  "setpriv",
  "ip",
  "cc",
  "dpkg-deb",
  "npm",
]

/**
 * What a test of images needs, as one line naming what is missing (or undefined when nothing is): root and `tools`.
 */
export const missingPrerequisites = (tools: ReadonlyArray<string> = imageTestTools): string | undefined => {
  const missing: Array<string> = []
  if (process.getuid?.() !== 0) missing.push("root (run the tests as root)")
  const absent = tools.filter((tool) => !onPath(tool))
  if (absent.length > 0) missing.push(`${absent.join(", ")} on PATH`)
  if (missing.length === 0) return undefined
  return (
    `the image tests need ${missing.join(" and ")}: apt-get install containerd runc mmdebstrap util-linux iproute2 ` +
    "gcc libc6-dev python3-pip skopeo"
  )
}

const run = (command: string, args: ReadonlyArray<string>, timeoutMs: number) =>
  new Promise<CtrResult>((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, stdout, stderr })
    })
  })

/** containerd-shim processes started by the containerd listening on `socket`. */
const shimsOf = async (socket: string): Promise<ReadonlyArray<number>> => {
  const pids: number[] = []
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/u.test(entry)) continue
    const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0")
    if ((argv[0] ?? "").includes("containerd-shim") && argv.includes(socket)) pids.push(Number(entry))
  }
  return pids
}

/** Lazily unmounts every mount point below `dir`, deepest first. */
const unmountUnder = async (dir: string) => {
  const points = (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length)
  for (const point of points) await run("umount", ["-l", point], 10_000)
}

export const startContainerd = async (): Promise<Containerd> => {
  const { dir, forget } = await ownedTempDir("cartographer-containerd-")
  const socket = join(dir, "containerd.sock")
  const config = join(dir, "config.toml")
  // Every path containerd would otherwise take from the machine (its root, state, the `opt` plugin's directory) is
  // the temp dir's: the node's own containerd, if one runs, is never touched.
  await writeFile(
    config,
    [
      "version = 2",
      `root = "${join(dir, "root")}"`,
      `state = "${join(dir, "state")}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${socket}"`,
      "[ttrpc]",
      `  address = "${socket}.ttrpc"`,
      "[debug]",
      '  address = ""',
      "[metrics]",
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(dir, "opt")}"`,
      "",
    ].join("\n"),
  )
  const log = join(dir, "containerd.log")
  const daemon: ManagedProcess = launch("containerd", "containerd", ["--config", config], log)
  // runc keeps its containers' state under one root per namespace, machine-wide unless told otherwise: two test
  // containerds (two suites at once) would share it and collide on container ids. Each gets its own.
  const runcRoot = join(dir, "runc")
  const ctr = (args: ReadonlyArray<string>, timeoutMs = 120_000) =>
    run(
      "ctr",
      [
        "--address",
        socket,
        "-n",
        "k8s.io",
        ...(args[0] === "run" ? ["run", "--runc-root", runcRoot, ...args.slice(1)] : args),
      ],
      timeoutMs,
    )
  try {
    await pollUntil(
      "the test's containerd to answer",
      async () => ((await ctr(["version"], 5_000)).code === 0 ? true : undefined),
      {
        timeoutMs: 20_000,
        describe: () => logTail(log),
      },
    )
  } catch (error) {
    await daemon.stop()
    throw error
  }
  const stop = async () => {
    // Tasks first (their shims outlive containerd otherwise), then containers and their snapshots.
    for (const id of (await ctr(["tasks", "ls", "-q"])).stdout.split("\n").filter(Boolean)) {
      await ctr(["tasks", "kill", "-s", "SIGKILL", id])
      await pollUntil(
        `task ${id} to end`,
        async () => ((await ctr(["tasks", "delete", id])).code === 0 ? true : undefined),
        {
          timeoutMs: 10_000,
        },
      ).catch(() => undefined)
    }
    for (const id of (await ctr(["containers", "ls", "-q"])).stdout.split("\n").filter(Boolean)) {
      await ctr(["containers", "delete", id])
    }
    await daemon.stop()
    // A task that did not end in time keeps its shim, and the shim keeps the container's rootfs mounted under `dir`:
    // both are this containerd's own (the shim names its socket), so they go before the directory does.
    for (const pid of await shimsOf(socket)) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
    await unmountUnder(dir)
    const mounts = await readFile("/proc/self/mountinfo", "utf8")
    if (!mounts.includes(`${dir}/`)) {
      await rm(dir, { recursive: true, force: true })
      forget()
    } else {
      process.stderr.write(`[containerd] ${dir} keeps mounts; left in place\n`)
    }
  }
  return { dir, ctr, stop }
}
