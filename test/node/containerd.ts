// containerd (Debian's 1.6, with runc) as the node's CRI runtime, inside the sandbox. Its socket is in the node's
// directory on the host's filesystem, so that `ctr` on the host can import images into it.
//
// Its store (content, snapshots, metadata) is kept between runs in the cache, so that a warm start imports nothing:
// unpacking the Prefect images alone takes most of a minute. One node at a time owns it (a lock); a second node
// on the machine meanwhile gets a store of its own in its directory. What a run left in the store besides images
// (containers, sandboxes, their snapshots) is removed before kubelet starts.
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { homedir } from "node:os"
import { join } from "node:path"
import { pollUntil } from "../harness/network.js"
import type { ManagedProcess } from "../harness/processes.js"
import { pauseReference } from "./images/images.js"
import type { BuiltImage } from "./images.js"
import { tryLock } from "./locks.js"
import { type NodeAddresses, run, type Sandbox } from "./sandbox.js"

export interface Containerd {
  readonly process: ManagedProcess
  /** The CRI endpoint, `unix://…`. */
  readonly endpoint: string
  readonly socket: string
  /** Imports the archives this store does not hold yet under their reference (an archive's path names its content). */
  importImages(images: ReadonlyArray<BuiltImage>): Promise<void>
  /** Gives the shared store back (after the process has ended). */
  release(): Promise<void>
}

const sharedStore = join(process.env.CARTOGRAPHER_CACHE ?? join(homedir(), ".cache", "cartographer"), "node-containerd")

const config = (root: string, dir: string, socket: string, cniConfDir: string) => `version = 2
root = "${root}"
# /run is the sandbox's own tmpfs: shim sockets, runc's state and the pods' netns files stay inside the sandbox.
state = "/run/containerd"
# Snapshotters that cannot work here only add errors to the log.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, "containerd", "opt")}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseReference}"
  # Root here lacks CAP_SYS_RESOURCE: without this, runc fails to lower a sandbox's oom_score_adj and no pod starts.
  restrict_oom_score_adj = true
  # The kernel has no AppArmor; SELinux is off.
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
    max_conf_num = 1
`

/** The CNI network: Debian's bridge plugin on the sandbox's `cni0`, host-local addresses from the node's pod CIDR. */
const cniConfig = (dir: string, a: NodeAddresses) =>
  JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "cartographer-node",
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          ipMasq: false,
          // A pod that reaches itself through a Service (hairpin) needs the packet back on its own port.
          hairpinMode: true,
          ipam: {
            type: "host-local",
            dataDir: join(dir, "cni", "ipam"),
            ranges: [[{ subnet: a.podCidr, gateway: a.gatewayIp }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )

export const startContainerd = async (sandbox: Sandbox, timeoutMs: number): Promise<Containerd> => {
  const { dir } = sandbox
  await mkdir(sharedStore, { recursive: true })
  const owned = await tryLock(join(sharedStore, "lock"))
  const root = owned === undefined ? join(dir, "containerd", "root") : join(sharedStore, "root")
  const cniConfDir = join(dir, "cni", "net.d")
  await mkdir(cniConfDir, { recursive: true })
  await writeFile(join(cniConfDir, "10-cartographer-node.conflist"), cniConfig(dir, sandbox.addresses))
  const socket = join(dir, "containerd.sock")
  const configPath = join(dir, "containerd.toml")
  await writeFile(configPath, config(root, dir, socket, cniConfDir))
  const daemon = sandbox.launch("containerd", "containerd", ["--config", configPath, "--log-level", "info"])
  await pollUntil(
    "containerd answers",
    async () => {
      await run("ctr", ["--address", socket, "version"])
      return true
    },
    {
      timeoutMs,
      intervalMs: 200,
      abort: () => (daemon.running() ? undefined : `containerd exited (${daemon.status()})`),
    },
  )
  const ctr = (args: ReadonlyArray<string>) => run("ctr", ["--address", socket, "--namespace", "k8s.io", ...args])
  // An earlier run's containers and pod sandboxes (their processes died with it): kubelet must not meet them.
  const leftovers = (await ctr(["containers", "list", "--quiet"])).split("\n").filter((c) => c !== "")
  if (leftovers.length > 0) await ctr(["containers", "delete", ...leftovers])
  const importedFile = join(root, "cartographer-imported.json")
  // Which archive each reference was last imported from (an archive's path names its content).
  const imported = new Map<string, string>(
    Object.entries(JSON.parse(await readFile(importedFile, "utf8").catch(() => "{}")) as Record<string, string>),
  )
  return {
    process: daemon,
    endpoint: `unix://${socket}`,
    socket,
    importImages: async (images) => {
      const fresh = images.filter((i) => imported.get(i.name) !== i.archive)
      // An archive imports only as a new reference: the reference of an earlier build goes first.
      await Promise.all(
        fresh.map(async (i) => {
          await ctr(["images", "remove", i.name]).catch(() => undefined)
          await ctr(["images", "import", i.archive])
        }),
      )
      for (const i of fresh) imported.set(i.name, i.archive)
      await writeFile(importedFile, JSON.stringify(Object.fromEntries([...imported].sort())))
    },
    release: async () => {
      await owned?.release()
    },
  }
}
