// A real Kubernetes control plane for tests, from local binaries: etcd + kube-apiserver (tier "api"), plus
// kube-controller-manager, kube-scheduler and kwok with fake nodes (tier "cluster"), plus one real node whose pods
// run (tier "node", test/node). Loopback only, random ports, TLS, RBAC, an audit log; everything lives in one temp
// dir and dies with stop() or with the runner.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { KubeConfig } from "@kubernetes/client-node"
import { findNodeBinaries } from "../node/binaries.js"
import { type BuiltImage, buildImages } from "../node/images.js"
import { type RealNode, startRealNode } from "../node/RealNode.js"
import { auditPolicy } from "./audit.js"
import { binary, findBinaries, type Tier } from "./binaries.js"
import { type ClientIdentity, createPki, type Pki, serviceClusterIpRange } from "./certificates.js"
import { startClusterComponents } from "./clusterComponents.js"
import { type CrdFailure, installCrds } from "./crds.js"
import { startEtcd } from "./etcd.js"
import { writeKubeconfig } from "./kubeconfig.js"
import { freePort, httpsGet, pollUntil } from "./network.js"
import { launch, logTail, type ManagedProcess, ownedTempDir } from "./processes.js"
import { type ServiceAccountClient, type ServiceAccountRef, serviceAccountClient } from "./serviceAccounts.js"

export type { Tier } from "./binaries.js"
export type { CrdFailure } from "./crds.js"

/** The harness's own identity for setup (in system:masters); audit events by it carry this username. */
export const adminUser = "cartographer-test-admin"

export interface ControlPlaneOptions {
  readonly tier: Tier
  /** CRD manifests applied (and waited for until Established) before the controllers start. */
  readonly crds?: ReadonlyArray<string>
  /**
   * What a CRD file that is rejected or never Established does: "throw" (default) fails the start; "report"
   * lists it in `crdFailures` and goes on, so that one broken CRD fails the tests about it, not every suite.
   */
  readonly onCrdFailure?: "throw" | "report"
  /** Fake kwok nodes in tiers "cluster" and "node" (default 3). */
  readonly nodes?: number
  /** Tier "node": the images the real node gets (default: every image test/node/images builds). */
  readonly images?: ReadonlyArray<BuiltImage>
  /**
   * Tier "node": whether the real node is tainted (default true), so that only namespaces placed on it (see
   * `useRealNode`) send pods there and every other suite's pods stay on kwok's nodes. Untainted, with `nodes: 0`,
   * it is the cluster's only node, as on a one-node cluster (`npm start`).
   */
  readonly realNodeTainted?: boolean
  /** Deadline for each component to become ready (default 120 s, or $CARTOGRAPHER_CONTROLPLANE_START_TIMEOUT ms). */
  readonly startTimeoutMs?: number
}

export interface ProcessStats {
  readonly name: string
  readonly pid: number
  readonly rssBytes: number
  /** The process's high-water mark (VmHWM). */
  readonly peakRssBytes: number
}

export interface ControlPlane {
  readonly tier: Tier
  readonly binDir: string
  readonly kubectlPath: string
  readonly apiServerUrl: string
  readonly kubeconfigPath: string
  /** Admin client configuration (system:masters). */
  readonly kubeConfig: KubeConfig
  readonly auditLogPath: string
  readonly caFile: string
  /** The temp dir; removed by stop(). */
  readonly workDir: string
  readonly etcdUrl: string
  readonly nodeNames: ReadonlyArray<string>
  /** Tier "node": the real node (its pods run), tainted (unless `realNodeTainted: false`) so that only namespaces that ask for it use it. */
  readonly realNode?: RealNode
  /** The CRD files of `options.crds` that were rejected or did not become Established, with kubectl's message. */
  readonly crdFailures: ReadonlyArray<CrdFailure>
  clientFor(serviceAccount: ServiceAccountRef): Promise<ServiceAccountClient>
  /**
   * Stops kube-apiserver and starts it again on the same port with the same etcd data. `whileDown` runs in between
   * (e.g. `compactEtcd`: no watch can then see a write after the compaction before the restart).
   */
  restartApiServer(whileDown?: () => Promise<unknown>): Promise<void>
  /**
   * Compacts etcd to a new revision past every one a client has seen (it writes a key outside the API server's
   * prefix first); resolves with it. Watches that etcd serves (Events: no watch cache)
   * from older resourceVersions get 410 Gone at once; kinds behind kube-apiserver's watch cache keep replaying
   * recent history from the cache until `restartApiServer()`, as in a real cluster.
   */
  compactEtcd(): Promise<number>
  processStats(): Promise<ReadonlyArray<ProcessStats>>
  stop(): Promise<void>
}

const identities = {
  admin: { user: adminUser, groups: ["system:masters"] },
  controllerManager: { user: "system:kube-controller-manager", groups: [] },
  scheduler: { user: "system:kube-scheduler", groups: [] },
  kwok: { user: "cartographer-test-kwok", groups: ["system:masters"] },
  // How the API server authenticates to kubelets (logs, exec, port-forward): kubeadm's apiserver-kubelet-client.
  kubeletClient: { user: "kube-apiserver-kubelet-client", groups: ["system:masters"] },
} satisfies Record<string, ClientIdentity>

const defaultTimeout = () => Number(process.env.CARTOGRAPHER_CONTROLPLANE_START_TIMEOUT) || 120_000

const stats = async (p: ManagedProcess): Promise<ProcessStats | undefined> => {
  try {
    const status = await readFile(`/proc/${p.pid}/status`, "utf8")
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024
    return { name: p.name, pid: p.pid, rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") }
  } catch {
    return undefined
  }
}

export const startControlPlane = async (options: ControlPlaneOptions): Promise<ControlPlane> => {
  const started = Date.now()
  const timeoutMs = options.startTimeoutMs ?? defaultTimeout()
  const binaries = await findBinaries(options.tier)
  const { dir: workDir, forget } = await ownedTempDir("cartographer-cp-")
  let etcdProcess: ManagedProcess | undefined
  let apiServer: ManagedProcess | undefined
  const components: ManagedProcess[] = []
  const all = () => [etcdProcess, apiServer, ...components].filter((p) => p !== undefined)
  const logs = () =>
    all()
      .map((p) => `--- ${p.name} (pid ${p.pid}) ${p.logPath}\n${logTail(p.logPath)}`)
      .join("\n")

  let realNode: RealNode | undefined
  const stopAll = async () => {
    // The node first: its kubelet would otherwise spend the shutdown retrying against a gone API server.
    await realNode?.stop()
    // Dependents first so that they do not spend the shutdown retrying against a gone API server.
    await Promise.all(components.map((p) => p.stop(5_000)))
    await apiServer?.stop(10_000)
    await etcdProcess?.stop(5_000)
  }

  try {
    const pkiDir = join(workDir, "pki")
    await mkdir(pkiDir)
    const pki: Pki = await createPki(pkiDir, Object.values(identities))
    const clientCert = (identity: ClientIdentity) => {
      const files = pki.clients.get(identity.user)
      if (!files) throw new Error(`no client certificate for ${identity.user}`)
      return files
    }

    const etcd = await startEtcd(binary(binaries, "etcd"), workDir, timeoutMs)
    etcdProcess = etcd.process

    const port = await freePort()
    const apiServerUrl = `https://127.0.0.1:${port}`
    const auditLogPath = join(workDir, "audit.log")
    const auditPolicyPath = join(workDir, "audit-policy.yaml")
    await writeFile(auditPolicyPath, auditPolicy)
    const apiServerArgs = [
      `--etcd-servers=${etcd.url}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${port}`,
      `--tls-cert-file=${pki.serving.cert}`,
      `--tls-private-key-file=${pki.serving.key}`,
      `--client-ca-file=${pki.caCert}`,
      "--authorization-mode=Node,RBAC",
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      `--service-account-issuer=${apiServerUrl}`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      "--allow-privileged=true",
      `--kubelet-client-certificate=${clientCert(identities.kubeletClient).cert}`,
      `--kubelet-client-key=${clientCert(identities.kubeletClient).key}`,
      `--kubelet-certificate-authority=${pki.caCert}`,
      // A node's name resolves nowhere: reach kubelets at their node IP.
      "--kubelet-preferred-address-types=InternalIP",
      // The `kubernetes` Service cannot point at a loopback address: the real node's harness writes its endpoints.
      "--endpoint-reconciler-type=none",
      `--audit-policy-file=${auditPolicyPath}`,
      `--audit-log-path=${auditLogPath}`,
      "--audit-log-format=json",
      // Write each event before answering: tests read the log right after their request.
      "--audit-log-mode=blocking",
      // On SIGTERM, end open watches (clients then reconnect) instead of waiting for them: otherwise a restart
      // with informers connected stalls until the SIGKILL grace (measured: 12 s instead of 2.7 s).
      "--shutdown-watch-termination-grace-period=2s",
      // Namespace annotations that pin a namespace's pods to nodes and add tolerations: the suites that need real pods
      // send theirs to the real node (tainted), while every other suite's pods stay on kwok's.
      "--enable-admission-plugins=PodNodeSelector,PodTolerationRestriction",
      // Without kube-controller-manager nobody creates the `default` ServiceAccount, and the admission plugin
      // would reject every Pod (envtest disables it the same way).
      ...(options.tier === "api" ? ["--disable-admission-plugins=ServiceAccount"] : []),
    ]
    const apiServerLog = join(workDir, "kube-apiserver.log")
    const admin = clientCert(identities.admin)
    const startApiServer = async () => {
      const p = launch("kube-apiserver", binary(binaries, "kube-apiserver"), apiServerArgs, apiServerLog)
      apiServer = p
      await pollUntil(
        `kube-apiserver ${apiServerUrl}/readyz`,
        async () => {
          const { status } = await httpsGet(`${apiServerUrl}/readyz`, { ca: pki.caCert, ...admin })
          return status === 200 ? true : undefined
        },
        {
          timeoutMs,
          intervalMs: 250,
          describe: logs,
          abort: () => (p.running() ? undefined : `kube-apiserver exited (${p.status()})`),
        },
      )
    }
    await startApiServer()

    const kubeconfigPath = join(workDir, "admin.kubeconfig")
    const kubeConfig = await writeKubeconfig(kubeconfigPath, apiServerUrl, pki.caCert, adminUser, {
      certFile: admin.cert,
      keyFile: admin.key,
    })
    const kubectlPath = binary(binaries, "kubectl")

    // Before the controllers start: the garbage collector then knows the new kinds from its first discovery
    // instead of after its 30 s resync.
    const crdFailures = await installCrds(
      kubectlPath,
      kubeconfigPath,
      options.crds ?? [],
      timeoutMs,
      options.onCrdFailure ?? "throw",
    )

    const nodeNames =
      options.tier !== "api"
        ? await startClusterComponents({
            binaries,
            workDir,
            pki,
            apiServerUrl,
            admin: kubeConfig,
            identities,
            nodes: options.nodes ?? 3,
            timeoutMs,
            track: (p) => components.push(p),
            logs,
          })
        : []

    if (options.tier === "node") {
      const [nodeBinaries, images] = await Promise.all([
        findNodeBinaries(),
        options.images === undefined ? buildImages() : Promise.resolve(options.images),
      ])
      realNode = await startRealNode({
        admin: kubeConfig,
        pki,
        apiServerPort: port,
        binaries: nodeBinaries,
        images,
        dir: join(workDir, "node"),
        tainted: options.realNodeTainted ?? true,
        timeoutMs,
      })
    }

    const access = { admin: kubeConfig, apiServerUrl, caFile: pki.caCert, workDir }
    let stopped = false
    const controlPlane: ControlPlane = {
      tier: options.tier,
      binDir: binaries.binDir,
      kubectlPath,
      apiServerUrl,
      kubeconfigPath,
      kubeConfig,
      auditLogPath,
      caFile: pki.caCert,
      workDir,
      etcdUrl: etcd.url,
      nodeNames,
      ...(realNode === undefined ? {} : { realNode }),
      crdFailures,
      clientFor: (serviceAccount) => serviceAccountClient(access, serviceAccount),
      restartApiServer: async (whileDown) => {
        await apiServer?.stop(10_000)
        await whileDown?.()
        await startApiServer()
      },
      compactEtcd: () => etcd.compact(),
      processStats: async () =>
        (
          await Promise.all(
            all()
              .filter((p) => p.running())
              .map(stats),
          )
        ).filter((s) => s !== undefined),
      stop: async () => {
        if (stopped) return
        stopped = true
        await stopAll()
        if (process.env.CARTOGRAPHER_TEST_KEEP_TMP) {
          process.stderr.write(`[controlplane] kept ${workDir} (CARTOGRAPHER_TEST_KEEP_TMP)\n`)
        } else {
          await rm(workDir, { recursive: true, force: true })
        }
        forget()
      },
    }
    process.stderr.write(
      `[controlplane] tier ${options.tier} ready at ${apiServerUrl} in ${Date.now() - started} ms (${workDir})\n`,
    )
    return controlPlane
  } catch (error) {
    await stopAll()
    if (!process.env.CARTOGRAPHER_TEST_KEEP_TMP) await rm(workDir, { recursive: true, force: true })
    forget()
    throw error
  }
}
