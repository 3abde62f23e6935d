// kubelet, built from k8s.io/kubernetes at the control plane's version, inside the sandbox: it registers the node
// (tainted unless told otherwise, so that only namespaces that ask for it send pods here), serves its API on the node IP with a
// certificate of the run's CA, and runs pods through containerd.
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { stringify } from "yaml"
import { issueClientCertificate, issueServingCertificate, type Pki } from "../harness/certificates.js"
import { writeKubeconfig } from "../harness/kubeconfig.js"
import type { ManagedProcess } from "../harness/processes.js"
import type { Sandbox } from "./sandbox.js"

/** The taint and label of the real node: pods land on it only from namespaces that select and tolerate it. */
export const realNodeTaint = { key: "cartographer.dev/real-node", value: "true", effect: "NoSchedule" } as const
export const realNodeLabel = "cartographer.dev/real-node"

/** The cluster DNS Service's ClusterIP (CoreDNS on the node behind it). */
export const clusterDnsIp = "10.96.0.10"
export const clusterDomain = "cluster.local"

export interface KubeletOptions {
  readonly sandbox: Sandbox
  readonly nodeName: string
  readonly pki: Pki
  /** The API server URL as seen from inside the sandbox (the relay). */
  readonly apiServerUrl: string
  readonly containerdEndpoint: string
  readonly cgroupRoot: string
  readonly tainted: boolean
  readonly binary: string
}

export const startKubelet = async (options: KubeletOptions): Promise<ManagedProcess> => {
  const { sandbox, nodeName, pki } = options
  const pkiDir = join(sandbox.dir, "pki")
  await mkdir(pkiDir, { recursive: true })
  const client = await issueClientCertificate(pki, pkiDir, "kubelet-client", {
    user: `system:node:${nodeName}`,
    groups: ["system:nodes"],
  })
  // `kubectl logs/exec/port-forward` reach kubelet at the node IP: its certificate must name it.
  const serving = await issueServingCertificate(pki, pkiDir, "kubelet-serving", nodeName, {
    ips: [sandbox.addresses.nodeIp],
    dns: [nodeName],
  })
  const kubeconfig = join(sandbox.dir, "kubelet.kubeconfig")
  await writeKubeconfig(kubeconfig, options.apiServerUrl, pki.caCert, `system:node:${nodeName}`, {
    certFile: client.cert,
    keyFile: client.key,
  })
  // Pods with dnsPolicy Default get this (nothing: no name server outside the cluster exists for them).
  const resolvConf = join(sandbox.dir, "resolv.conf")
  await writeFile(resolvConf, "")
  const config = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // This host mounts cgroup v1 (with a unified hierarchy beside it); kubelet 1.36 refuses v1 unless told.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    cgroupRoot: options.cgroupRoot,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ["pods"],
    containerRuntimeEndpoint: options.containerdEndpoint,
    failSwapOn: false,
    address: sandbox.addresses.nodeIp,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    tlsCertFile: serving.cert,
    tlsPrivateKeyFile: serving.key,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: pki.caCert },
    },
    authorization: { mode: "Webhook" },
    clusterDomain,
    clusterDNS: [clusterDnsIp],
    resolvConf,
    registerNode: true,
    registerWithTaints: options.tainted ? [realNodeTaint] : [],
    // Images are imported, never pulled (there is no registry): the image GC must not remove them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    // A test machine's disk may be fuller than a node's defaults accept; memory pressure still evicts.
    evictionHard: {
      "memory.available": "200Mi",
      "nodefs.available": "1%",
      "imagefs.available": "1%",
      "nodefs.inodesFree": "1%",
    },
    // Pods are torn down quickly by the tests; the default 1 min between syncs only slows them.
    nodeStatusReportFrequency: "10s",
    maxPods: 110,
    // Without a syslog or systemd, kubelet's own log goes to its standard error (the node's log file).
    logging: { format: "text" },
  }
  const configPath = join(sandbox.dir, "kubelet.yaml")
  await writeFile(configPath, stringify(config))
  return sandbox.launch("kubelet", options.binary, [
    `--config=${configPath}`,
    `--kubeconfig=${kubeconfig}`,
    "--root-dir=/var/lib/kubelet",
    `--hostname-override=${nodeName}`,
    `--node-ip=${sandbox.addresses.nodeIp}`,
    `--node-labels=${realNodeLabel}=true`,
    "--v=1",
  ])
}
