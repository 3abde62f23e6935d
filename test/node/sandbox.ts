// The node's sandbox: a network namespace and a mount namespace of its own, held by one idle init process, so that
// every rule, interface, mount and pod network namespace the node makes lives inside them and goes with them.
//
//   host netns                              node netns (this sandbox)
//   127.0.0.1:<apiserver>  ◀─ unix socket ─ 0.0.0.0:<same port>   kubelet, kube-proxy, CoreDNS, kube-router
//   cgh<id> 10.231.<k>.1/30 ◀─── veth ────▶ eth0 10.231.<k>.2/30  (node IP: kubelet serves here)
//   route 10.230.<k>.0/24 via the veth      cni0 10.230.<k>.1/24 ── pods (CNI bridge)
//
// The node reaches the API server only through the relay on a unix socket (the API server listens on loopback); the
// host reaches the node IP and the pods over the veth. Nothing in the node netns routes anywhere else: it has no
// default route, and a firewall table of ours drops every new connection from the node or its pods towards the
// host. So a pod reaches only the node's pods, Services and the API server, and nothing it sends leaves the machine.
import { execFile } from "node:child_process"
import { closeSync, openSync } from "node:fs"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { promisify } from "node:util"
import { launch, type ManagedProcess } from "../harness/processes.js"
import { joinSystemCgroupScript } from "./cgroups.js"

const exec = promisify(execFile)

/** The addresses of one node; `k` is unique among the nodes running on this machine. */
export interface NodeAddresses {
  readonly k: number
  /** The host's end of the veth. */
  readonly hostIp: string
  /** The node's IP: eth0 in the sandbox, where kubelet serves and the API server relay listens for pods. */
  readonly nodeIp: string
  readonly podCidr: string
  /** The CNI bridge's address: the pods' gateway. */
  readonly gatewayIp: string
}

export const addressesFor = (k: number): NodeAddresses => ({
  k,
  hostIp: `10.231.${k}.1`,
  nodeIp: `10.231.${k}.2`,
  podCidr: `10.230.${k}.0/24`,
  gatewayIp: `10.230.${k}.1`,
})

/** The veth's host-side name (at most 15 characters). */
export const hostLink = (id: string) => `cgh${id}`

export const run = async (command: string, args: ReadonlyArray<string>): Promise<string> => {
  try {
    const { stdout } = await exec(command, [...args], { maxBuffer: 16 * 2 ** 20 })
    return stdout
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    throw new Error(`${command} ${args.join(" ")}: ${(e.stderr ?? "").trim() || e.message}`)
  }
}

/** A free `k`: no address or route of this machine is in 10.230.k.0/24 or 10.231.k.0/30. */
export const freeK = async (): Promise<number> => {
  const routes = await run("ip", ["-4", "route", "show", "table", "all"])
  const addresses = await run("ip", ["-4", "-o", "addr", "show"])
  const taken = new Set<number>()
  for (const match of `${routes}\n${addresses}`.matchAll(/\b10\.23[01]\.(\d+)\./gu)) taken.add(Number(match[1]))
  const candidates = Array.from({ length: 250 }, (_, i) => i + 2).filter((k) => !taken.has(k))
  const k = candidates[Math.floor(Math.random() * candidates.length)]
  if (k === undefined) throw new Error("no free 10.230.k.0/24 for a node: every k is in use on this machine")
  return k
}

// The firewall of the node netns, in a table of its own at a priority before the filter tables of kube-proxy and
// kube-router, so that neither can accept what it drops: no new connection from the node netns (its processes or
// its pods) goes to the host; replies to what the host opened (API server → kubelet, tests → pods) pass.
const firewall = `
table inet cartographer-node {
  chain forward {
    type filter hook forward priority -10; policy accept;
    oifname "eth0" ct state != { established, related } drop
  }
  chain output {
    type filter hook output priority -10; policy accept;
    oifname "eth0" ct state != { established, related } drop
  }
}
`

// The init process: creates the private mounts (a tmpfs /run, /var/lib and /var/log from the node's directory:
// containerd's and kubelet's default paths, the pod netns files and CNI's state never touch the host), brings up
// loopback, then idles as the namespaces' holder.
const initScript = (dir: string) => `
set -eu
mount -t tmpfs -o mode=0755 cartographer-node-run /run
mkdir -p /run/netns /run/lock
mount --bind ${dir}/var/lib /var/lib
mount --bind ${dir}/var/log /var/log
ip link set lo up
echo ready
exec sleep infinity
`

export interface Sandbox {
  readonly id: string
  readonly dir: string
  readonly addresses: NodeAddresses
  readonly init: ManagedProcess
  /** Runs a command inside the sandbox and resolves with its standard output. */
  exec(command: string, args: ReadonlyArray<string>): Promise<string>
  /** Starts a long-running process inside the sandbox, in the node's `system` cgroup, logging to `<dir>/logs/<name>.log`. */
  launch(name: string, binary: string, args: ReadonlyArray<string>): ManagedProcess
  /** The inode of the sandbox's network namespace (to check that it is gone). */
  readonly netnsInode: string
}

const waitForLine = async (path: string, line: string, p: ManagedProcess, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const text = await readFile(path, "utf8").catch(() => "")
    if (text.split("\n").includes(line)) return
    if (!p.running()) throw new Error(`the node sandbox's init exited (${p.status()}): ${text.trim()}`)
    if (Date.now() > deadline) throw new Error(`the node sandbox's init did not get ready: ${text.trim()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Creates the sandbox: namespaces, private mounts, the veth and its addresses, the route to the pods, the firewall. */
export const createSandbox = async (id: string, dir: string, addresses: NodeAddresses): Promise<Sandbox> => {
  for (const sub of ["var/lib", "var/log", "logs"]) await mkdir(join(dir, sub), { recursive: true })
  const logsDir = join(dir, "logs")
  const initLog = join(logsDir, "init.log")
  closeSync(openSync(initLog, "a"))
  const init = launch(
    "node-sandbox",
    "/bin/sh",
    [
      "-c",
      `${joinSystemCgroupScript(id)}\nexec unshare --mount --net --propagation slave /bin/sh -c '${initScript(dir)}'`,
    ],
    initLog,
  )
  await waitForLine(initLog, "ready", init, 10_000)

  const inside = ["--target", String(init.pid), "--mount", "--net", "--"]
  const execInside = (command: string, args: ReadonlyArray<string>) => run("nsenter", [...inside, command, ...args])
  const netnsInode = (await run("readlink", [`/proc/${init.pid}/ns/net`])).trim()

  const link = hostLink(id)
  await run("ip", ["link", "add", link, "type", "veth", "peer", "name", `cgn${id}`])
  await run("ip", ["link", "set", `cgn${id}`, "netns", String(init.pid)])
  await run("ip", ["addr", "add", `${addresses.hostIp}/30`, "dev", link])
  await run("ip", ["link", "set", link, "up"])
  await execInside("ip", ["link", "set", `cgn${id}`, "name", "eth0"])
  await execInside("ip", ["addr", "add", `${addresses.nodeIp}/30`, "dev", "eth0"])
  await execInside("ip", ["link", "set", "eth0", "up"])
  // The CNI bridge exists before the first pod, so that the API server relay and kubelet find the gateway address.
  await execInside("ip", ["link", "add", "cni0", "type", "bridge"])
  await execInside("ip", ["addr", "add", `${addresses.gatewayIp}/24`, "dev", "cni0"])
  await execInside("ip", ["link", "set", "cni0", "up"])
  await run("ip", ["route", "add", addresses.podCidr, "via", addresses.nodeIp, "dev", link])
  // Routing between pods and Services, and bridged pod traffic through iptables (kube-proxy, NetworkPolicy).
  for (const [key, value] of [
    ["net.ipv4.ip_forward", "1"],
    ["net.bridge.bridge-nf-call-iptables", "1"],
    ["net.bridge.bridge-nf-call-ip6tables", "1"],
  ] as const) {
    await execInside("sysctl", ["-q", "-w", `${key}=${value}`])
  }
  const rules = join(dir, "firewall.nft")
  await writeFile(rules, firewall)
  await execInside("nft", ["-f", rules])

  return {
    id,
    dir,
    addresses,
    init,
    netnsInode,
    exec: execInside,
    launch: (name, binary, args) =>
      launch(
        name,
        "/bin/sh",
        ["-c", `${joinSystemCgroupScript(id)}\nexec nsenter ${inside.join(" ")} "$@"`, name, binary, ...args],
        join(logsDir, `${name}.log`),
      ),
  }
}
