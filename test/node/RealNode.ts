// One real Kubernetes node for the test control plane (tier "node"): kubelet with containerd and runc, a CNI
// bridge, kube-proxy, CoreDNS, kube-router's NetworkPolicy controller and a local volume provisioner, inside a
// sandbox of its own (sandbox.ts). Images are the ones built here (images/), imported into containerd.
//
// stop() leaves nothing behind: it kills every process of the node's cgroup subtree (containers and containerd's
// shims included), which ends the sandbox's namespaces (and with them every mount, interface, iptables rule and pod
// netns inside), removes the cgroups, and checks that nothing is left. A node whose owner died without stop() is
// swept the same way by the next start on the machine.
import { randomBytes } from "node:crypto"
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { CoreV1Api, type KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node"
import type { Pki } from "../harness/certificates.js"
import { pollUntil } from "../harness/network.js"
import { launch, type ManagedProcess, onLastResort } from "../harness/processes.js"
import type { NodeBinaries } from "./binaries.js"
import {
  createNodeCgroups,
  nodeCgroup,
  nodeCgroupIds,
  nodePids,
  remainingCgroups,
  removeNodeCgroups,
} from "./cgroups.js"
import { type Containerd, startContainerd } from "./containerd.js"
import type { BuiltImage } from "./images.js"
import { realNodeLabel, startKubelet } from "./kubelet.js"
import { alive, lock } from "./locks.js"
import { missingNodePrerequisites } from "./prerequisites.js"
import { type Provisioner, startProvisioner } from "./provisioner.js"
import { addressesFor, createSandbox, freeK, hostLink, type NodeAddresses, run, type Sandbox } from "./sandbox.js"
import {
  clusterServiceObjects,
  coreDnsReadyPort,
  kubeProxyHealthPort,
  kubeRouterHealthPort,
  startCoreDns,
  startKubeProxy,
  startKubeRouter,
} from "./services.js"

export interface RealNodeOptions {
  readonly admin: KubeConfig
  readonly pki: Pki
  /** The API server's loopback port (the sandbox's relay listens on the same port). */
  readonly apiServerPort: number
  readonly binaries: NodeBinaries
  readonly images: ReadonlyArray<BuiltImage>
  /** The directory the node keeps everything in (under the control plane's temp dir). */
  readonly dir: string
  /** Registers with the `cartographer.dev/real-node` NoSchedule taint (see kubelet.ts). */
  readonly tainted: boolean
  readonly timeoutMs: number
}

export interface RealNode {
  readonly name: string
  readonly addresses: NodeAddresses
  readonly dir: string
  /** containerd's socket, for `ctr --address <socket> -n k8s.io …` from the host (images imported later). */
  readonly containerdSocket: string
  /** What is left of the node on this machine (processes, cgroups, namespaces, links, routes); empty after stop(). */
  leftovers(): Promise<ReadonlyArray<string>>
  stop(): Promise<void>
}

// Which node ids exist and who owns them: a node whose owner process is gone is swept at the next start.
const registryDir = "/run/cartographer-nodes"

/** Runs `f` holding the machine-wide node registry lock. */
const withRegistryLock = async <A>(f: () => Promise<A>): Promise<A> => {
  const held = await lock(join(registryDir, ".lock"))
  try {
    return await f()
  } finally {
    await held.release()
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Kills every process in the node's cgroups until none is left (a dying shim may still fork once). */
const killNodeProcesses = async (id: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const pids = nodePids(id)
    if (pids.length === 0) return
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {}
    }
    if (Date.now() > deadline) throw new Error(`node ${id}: processes ${pids.join(", ")} survive SIGKILL`)
    await sleep(100)
  }
}

const linkExists = async (name: string) => {
  try {
    await run("ip", ["link", "show", name])
    return true
  } catch {
    return false
  }
}

/** Processes anywhere on the machine still in the given network namespace. */
const netnsHolders = async (inode: string): Promise<ReadonlyArray<number>> => {
  const holders: number[] = []
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/u.test(entry)) continue
    const link = await run("readlink", [`/proc/${entry}/ns/net`]).catch(() => "")
    if (link.trim() === inode) holders.push(Number(entry))
  }
  return holders
}

const leftoversOf = async (id: string, netnsInode: string | undefined): Promise<ReadonlyArray<string>> => {
  const found: string[] = []
  const pids = nodePids(id)
  if (pids.length > 0) found.push(`processes in ${nodeCgroup(id)}: ${pids.join(", ")}`)
  for (const dir of remainingCgroups(id)) found.push(`cgroup ${dir}`)
  if (await linkExists(hostLink(id))) found.push(`link ${hostLink(id)}`)
  if (netnsInode !== undefined) {
    const holders = await netnsHolders(netnsInode)
    if (holders.length > 0) found.push(`network namespace ${netnsInode} held by ${holders.join(", ")}`)
  }
  const mounts = await readFile("/proc/self/mountinfo", "utf8")
  for (const line of mounts.split("\n")) if (line.includes(`cartographer-node-${id}`)) found.push(`mount ${line}`)
  return found
}

/** Tears a node down by id: its processes, its cgroups, its host link (its namespaces end with its processes). */
const teardown = async (id: string, netnsInode: string | undefined) => {
  await killNodeProcesses(id, 30_000)
  // The sandbox's netns ends when its last process does; its veth (and the host's route over it) go with it.
  if (netnsInode !== undefined) {
    await pollUntil(
      `node ${id}: network namespace released`,
      async () => ((await netnsHolders(netnsInode)).length === 0 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 100 },
    )
  }
  if (await linkExists(hostLink(id))) await run("ip", ["link", "delete", hostLink(id)]).catch(() => undefined)
  await pollUntil(`node ${id}: cgroups removed`, async () => (removeNodeCgroups(id).length === 0 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
  })
  await rm(join(registryDir, id), { force: true })
}

/** Nodes of earlier runs whose owner died without stopping them (SIGKILL): torn down the same way. */
const sweepOrphans = async () => {
  for (const id of nodeCgroupIds()) {
    const owner = Number(await readFile(join(registryDir, id), "utf8").catch(() => "0"))
    if (owner > 0 && alive(owner)) continue
    process.stderr.write(`[node] sweeping node ${id} of a run that ended without stopping it\n`)
    await teardown(id, undefined)
  }
}

export const startRealNode = async (options: RealNodeOptions): Promise<RealNode> => {
  const missing = missingNodePrerequisites()
  if (missing !== undefined) throw new Error(missing)
  await mkdir(registryDir, { recursive: true })
  await sweepOrphans()

  const id = randomBytes(3).toString("hex")
  const name = `cartographer-node-${id}`
  await writeFile(join(registryDir, id), String(process.pid))
  const { dir, timeoutMs, admin } = options
  await mkdir(dir, { recursive: true })
  const log = (line: string) => process.stderr.write(`[node] ${line}\n`)
  const hostProcesses: ManagedProcess[] = []
  let sandbox: Sandbox | undefined
  let provisioner: Provisioner | undefined
  let containerd: Containerd | undefined
  let stopped = false
  // If this process ends without stop() (Ctrl-C on a test run): the containers and shims are not our children and
  // would outlive us; kill them at once (the next start on the machine removes what else is left).
  const forget = onLastResort(() => {
    for (const pid of nodePids(id)) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {}
    }
  })

  const stop = async () => {
    if (stopped) return
    stopped = true
    await provisioner?.stop().catch(() => undefined)
    await admin
      .makeApiClient(CoreV1Api)
      .deleteNode({ name })
      .catch(() => undefined)
    await teardown(id, sandbox?.netnsInode)
    forget()
    await containerd?.release()
    await Promise.all(hostProcesses.map((p) => p.stop(2_000)))
  }

  try {
    createNodeCgroups(id)
    // Under a lock: two nodes starting at once on one machine must not pick the same addresses.
    sandbox = await withRegistryLock(async () => createSandbox(id, dir, addressesFor(await freeK())))
    const { addresses } = sandbox
    const nodeLogs = () => join(dir, "logs")

    // The API server listens on loopback only: the sandbox reaches it through a unix socket relay.
    const socket = join(dir, "apiserver.sock")
    hostProcesses.push(
      launch(
        "apiserver-relay-host",
        "socat",
        [`UNIX-LISTEN:${socket},fork,mode=600`, `TCP:127.0.0.1:${options.apiServerPort}`],
        join(nodeLogs(), "apiserver-relay-host.log"),
      ),
    )
    sandbox.launch("apiserver-relay", "socat", [
      `TCP-LISTEN:${options.apiServerPort},fork,reuseaddr`,
      `UNIX-CONNECT:${socket}`,
    ])
    const apiServerUrl = `https://127.0.0.1:${options.apiServerPort}`

    containerd = await startContainerd(sandbox, timeoutMs)
    await containerd.importImages(options.images)

    const objects = KubernetesObjectApi.makeApiClient(admin)
    for (const object of clusterServiceObjects(addresses.nodeIp, options.apiServerPort)) {
      await objects.create(object as never).catch(async (error: { code?: number }) => {
        if (error.code === 409) await objects.replace(object as never)
        else throw error
      })
    }

    const kubelet = await startKubelet({
      sandbox,
      nodeName: name,
      pki: options.pki,
      apiServerUrl,
      containerdEndpoint: containerd.endpoint,
      cgroupRoot: nodeCgroup(id),
      tainted: options.tainted,
      binary: options.binaries.kubelet,
    })
    const components = {
      sandbox,
      nodeName: name,
      pki: options.pki,
      apiServerUrl,
      binaries: options.binaries,
    }
    const kubeProxy = await startKubeProxy(components)
    const coredns = await startCoreDns(components)
    const processes = [containerd.process, kubelet, kubeProxy, coredns]
    const logTails = () => processes.map((p) => `--- ${p.name}: ${p.logPath}`).join("\n")
    const abort = () => processes.find((p) => !p.running())?.name

    const core = admin.makeApiClient(CoreV1Api)
    await pollUntil(
      `node ${name} Ready`,
      async () => {
        const node = await core.readNode({ name })
        return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? true : undefined
      },
      { timeoutMs, intervalMs: 250, describe: logTails, abort: () => abort() && `${abort()} exited` },
    )
    // kube-router reads its Node object at start: only once kubelet has registered it.
    processes.push(await startKubeRouter(components))
    const healthy = async (url: string) => {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      return response.ok ? true : undefined
    }
    await pollUntil(
      `CoreDNS ready on ${addresses.nodeIp}`,
      () => healthy(`http://${addresses.nodeIp}:${coreDnsReadyPort}/ready`),
      {
        timeoutMs,
        describe: logTails,
        abort: () => abort() && `${abort()} exited`,
      },
    )
    await pollUntil(`kube-proxy synced`, () => healthy(`http://${addresses.nodeIp}:${kubeProxyHealthPort}/healthz`), {
      timeoutMs,
      describe: logTails,
      abort: () => abort() && `${abort()} exited`,
    })
    await pollUntil(
      `kube-router healthy`,
      () => healthy(`http://${addresses.nodeIp}:${kubeRouterHealthPort}/healthz`),
      {
        timeoutMs,
        describe: logTails,
        abort: () => abort() && `${abort()} exited`,
      },
    )
    provisioner = await startProvisioner(admin, { nodeName: name, volumeDir: join(dir, "volumes"), log })
    log(`node ${name} Ready (${addresses.nodeIp}, pods ${addresses.podCidr}) in ${dir}`)
    return {
      name,
      addresses,
      dir,
      containerdSocket: containerd.socket,
      leftovers: () => leftoversOf(id, sandbox?.netnsInode),
      stop,
    }
  } catch (error) {
    await stop().catch((e) => log(`teardown after a failed start: ${String(e)}`))
    throw error
  }
}

export { realNodeLabel }
