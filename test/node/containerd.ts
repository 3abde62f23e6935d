// containerd (Debian's 1.6, with runc) as the node's CRI runtime, inside the sandbox. Its socket is in the node's
// directory on the host's filesystem, so that `ctr` on the host can import images into it.
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { pollUntil } from "../harness/network.js"
import type { ManagedProcess } from "../harness/processes.js"
import { type NodeAddresses, run, type Sandbox } from "./sandbox.js"

/** The pause image the CRI plugin starts every pod sandbox from (built here: test/node/images). */
export const sandboxImage = "registry.k8s.io/pause:3.10"

export interface Containerd {
  readonly process: ManagedProcess
  /** The CRI endpoint, `unix://…`. */
  readonly endpoint: string
  readonly socket: string
}

const config = (dir: string, socket: string, cniConfDir: string) => `version = 2
root = "${join(dir, "containerd", "root")}"
# /run is the sandbox's own tmpfs: shim sockets, runc's state and the pods' netns files stay inside the sandbox.
state = "/run/containerd"
# Snapshotters that cannot work here only add errors to the log.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, "containerd", "opt")}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
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
  const cniConfDir = join(dir, "cni", "net.d")
  await mkdir(cniConfDir, { recursive: true })
  await writeFile(join(cniConfDir, "10-cartographer-node.conflist"), cniConfig(dir, sandbox.addresses))
  const socket = join(dir, "containerd.sock")
  const configPath = join(dir, "containerd.toml")
  await writeFile(configPath, config(dir, socket, cniConfDir))
  const process = sandbox.launch("containerd", "containerd", ["--config", configPath, "--log-level", "info"])
  await pollUntil(
    "containerd answers",
    async () => {
      await run("ctr", ["--address", socket, "version"])
      return true
    },
    {
      timeoutMs,
      intervalMs: 200,
      abort: () => (process.running() ? undefined : `containerd exited (${process.status()})`),
    },
  )
  return { process, endpoint: `unix://${socket}`, socket }
}
