// What a machine needs to run the real node, checked up front so that a machine without it gets one line saying
// what is missing instead of a failure deep inside kubelet.
import { accessSync, constants, existsSync } from "node:fs"
import { delimiter, join } from "node:path"

const commands = {
  containerd: "containerd",
  runc: "runc",
  ctr: "containerd",
  iptables: "iptables",
  "iptables-restore": "iptables",
  ipset: "ipset",
  nft: "nftables",
  conntrack: "conntrack",
  socat: "socat",
  ip: "iproute2",
  nsenter: "util-linux",
  unshare: "util-linux",
  setpriv: "util-linux",
  sysctl: "procps",
} as const

const cniPlugins = ["bridge", "host-local", "portmap", "loopback"] as const

/** Whether `command` is an executable in a directory of $PATH. */
export const onPath = (command: string) =>
  (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK)
      return true
    } catch {
      return false
    }
  })

/** What this machine lacks to run the real node, as one line; undefined when nothing is missing. */
export const missingNodePrerequisites = (): string | undefined => {
  if (process.platform !== "linux") return `the real node needs Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return "the real node needs root (namespaces, cgroups, mounts, iptables)"
  if (!existsSync("/sys/fs/cgroup")) return "the real node needs cgroups mounted at /sys/fs/cgroup"
  if (!existsSync("/proc/sys/net/bridge")) return "the real node needs the kernel's bridge netfilter (br_netfilter)"
  const missing = new Set<string>()
  for (const [command, pkg] of Object.entries(commands)) if (!onPath(command)) missing.add(`${command} (${pkg})`)
  for (const plugin of cniPlugins) {
    if (!existsSync(join("/usr/lib/cni", plugin))) missing.add(`/usr/lib/cni/${plugin} (containernetworking-plugins)`)
  }
  if (missing.size === 0) return undefined
  return `the real node needs: ${[...missing].join(", ")} (Debian, as root: bash scripts/install-debian-packages.sh)`
}
