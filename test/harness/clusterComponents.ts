// Tier "cluster": what turns an API server into a cluster whose Deployments run. kube-controller-manager
// (Deployments, ReplicaSets, StatefulSets, Jobs, garbage collection, namespaces, ServiceAccounts and their tokens),
// kube-scheduler, and kwok playing kubelet for fake nodes.
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { KubeConfig } from "@kubernetes/client-node"
import { type Binaries, binary } from "./binaries.js"
import type { ClientIdentity, Pki } from "./certificates.js"
import { createFakeNodes, fakeNodeAnnotation } from "./fakeNodes.js"
import { writeKubeconfig } from "./kubeconfig.js"
import { freePort, httpsGet, pollUntil } from "./network.js"
import { launch, type ManagedProcess } from "./processes.js"

export interface ClusterContext {
  readonly binaries: Binaries
  readonly workDir: string
  readonly pki: Pki
  readonly apiServerUrl: string
  readonly admin: KubeConfig
  readonly identities: {
    readonly controllerManager: ClientIdentity
    readonly scheduler: ClientIdentity
    readonly kwok: ClientIdentity
    readonly admin: ClientIdentity
  }
  readonly nodes: number
  readonly timeoutMs: number
  /** Called with every process as soon as it is started, so the caller can stop it on any failure. */
  readonly track: (p: ManagedProcess) => void
  readonly logs: () => string
}

/** Starts the components, waits until they are healthy and the fake nodes Ready; resolves with the node names. */
export const startClusterComponents = async (ctx: ClusterContext): Promise<ReadonlyArray<string>> => {
  const { pki, workDir } = ctx
  const certOf = (identity: ClientIdentity) => {
    const files = pki.clients.get(identity.user)
    if (!files) throw new Error(`no client certificate for ${identity.user}`)
    return files
  }
  const kubeconfigFor = async (name: string, identity: ClientIdentity) => {
    const path = join(workDir, `${name}.kubeconfig`)
    const { cert, key } = certOf(identity)
    await writeKubeconfig(path, ctx.apiServerUrl, pki.caCert, identity.user, { certFile: cert, keyFile: key })
    return path
  }
  const start = (name: "kube-controller-manager" | "kube-scheduler" | "kwok", args: ReadonlyArray<string>) => {
    const p = launch(name, binary(ctx.binaries, name), args, join(workDir, `${name}.log`))
    ctx.track(p)
    return p
  }
  // Health endpoints served with our CA-signed certificate, so that the probe verifies what it talks to.
  const serving = (port: number) => [
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.serving.cert}`,
    `--tls-private-key-file=${pki.serving.key}`,
  ]
  const healthy = (p: ManagedProcess, port: number) =>
    pollUntil(
      `${p.name} /healthz`,
      async () => {
        const tls = { ca: pki.caCert, ...certOf(ctx.identities.admin) }
        const { status } = await httpsGet(`https://127.0.0.1:${port}/healthz`, tls)
        return status === 200 ? true : undefined
      },
      {
        timeoutMs: ctx.timeoutMs,
        describe: ctx.logs,
        abort: () => (p.running() ? undefined : `${p.name} exited (${p.status()})`),
      },
    )

  const kcmPort = await freePort()
  const kcm = start("kube-controller-manager", [
    `--kubeconfig=${await kubeconfigFor("kube-controller-manager", ctx.identities.controllerManager)}`,
    ...serving(kcmPort),
    "--leader-elect=false",
    // Each controller acts as its own ServiceAccount (as kubeadm sets it up): audit lines and RBAC per controller.
    "--use-service-account-credentials=true",
    `--root-ca-file=${pki.caCert}`,
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    "--controllers=*",
  ])

  const schedulerPort = await freePort()
  const scheduler = start("kube-scheduler", [
    `--kubeconfig=${await kubeconfigFor("kube-scheduler", ctx.identities.scheduler)}`,
    ...serving(schedulerPort),
    "--leader-elect=false",
  ])

  // An explicit, empty configuration: kwok would otherwise read ~/.kwok/kwok.yaml. No Stage objects means
  // v0.7.0's built-in stages (node initialize and heartbeat, pod ready, pod delete).
  const kwokConfig = join(workDir, "kwok.yaml")
  await writeFile(kwokConfig, "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n")
  start("kwok", [
    `--kubeconfig=${await kubeconfigFor("kwok", ctx.identities.kwok)}`,
    `--config=${kwokConfig}`,
    `--manage-nodes-with-annotation-selector=${fakeNodeAnnotation}=fake`,
    "--cidr=10.244.0.0/16",
    "--node-ip=10.0.0.1",
    "--node-lease-duration-seconds=40",
  ])

  await Promise.all([healthy(kcm, kcmPort), healthy(scheduler, schedulerPort)])
  return createFakeNodes(ctx.admin, ctx.nodes, ctx.timeoutMs, ctx.logs)
}
