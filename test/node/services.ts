// The cluster's networking on the real node, each as a process inside the sandbox: kube-proxy (Services, in
// iptables mode), CoreDNS (cluster DNS, nothing forwarded outside the cluster) and kube-router's NetworkPolicy
// controller (iptables and ipsets; routing and service proxy off). The Services they are reached by — `kubernetes`
// and `kube-system/kube-dns` — point at the node IP through EndpointSlices the harness writes (the API server runs
// with `--endpoint-reconciler-type=none`, as it listens on loopback only).
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { stringify } from "yaml"
import { issueClientCertificate, type Pki } from "../harness/certificates.js"
import { writeKubeconfig } from "../harness/kubeconfig.js"
import type { ManagedProcess } from "../harness/processes.js"
import { clusterDnsIp, clusterDomain } from "./kubelet.js"
import type { Sandbox } from "./sandbox.js"

interface ComponentContext {
  readonly sandbox: Sandbox
  readonly nodeName: string
  readonly pki: Pki
  /** The API server as seen from the sandbox (the relay). */
  readonly apiServerUrl: string
  readonly binaries: { readonly kubeProxy: string; readonly coredns: string; readonly kubeRouter: string }
}

const kubeconfigFor = async (ctx: ComponentContext, name: string, user: string, groups: ReadonlyArray<string>) => {
  const pkiDir = join(ctx.sandbox.dir, "pki")
  const cert = await issueClientCertificate(ctx.pki, pkiDir, name, { user, groups })
  const path = join(ctx.sandbox.dir, `${name}.kubeconfig`)
  await writeKubeconfig(path, ctx.apiServerUrl, ctx.pki.caCert, user, { certFile: cert.cert, keyFile: cert.key })
  return path
}

export const kubeProxyHealthPort = 10256

/** kube-proxy as `system:kube-proxy`, which the API server's bootstrap policy binds to `system:node-proxier`. */
export const startKubeProxy = async (ctx: ComponentContext): Promise<ManagedProcess> => {
  const kubeconfig = await kubeconfigFor(ctx, "kube-proxy", "system:kube-proxy", [])
  const config = {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    hostnameOverride: ctx.nodeName,
    mode: "iptables",
    clusterCIDR: ctx.sandbox.addresses.podCidr,
    // On the node IP, so that the harness (on the host) can wait for its first sync.
    healthzBindAddress: `${ctx.sandbox.addresses.nodeIp}:${kubeProxyHealthPort}`,
    metricsBindAddress: "127.0.0.1:10249",
    // nf_conntrack_max is machine-wide (writable only from the host's netns): leave it, and the timeouts, alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
  }
  const configPath = join(ctx.sandbox.dir, "kube-proxy.yaml")
  await writeFile(configPath, stringify(config))
  return ctx.sandbox.launch("kube-proxy", ctx.binaries.kubeProxy, [`--config=${configPath}`, "--v=1"])
}

/** CoreDNS's readiness endpoint, on the node IP (reachable from the host for the harness's wait). */
export const coreDnsReadyPort = 8181

/** CoreDNS serving `cluster.local` from the API server, on the node IP. Names outside the cluster get no answer. */
export const startCoreDns = async (ctx: ComponentContext): Promise<ManagedProcess> => {
  const kubeconfig = await kubeconfigFor(ctx, "coredns", "cartographer-test-coredns", ["system:masters"])
  const { nodeIp } = ctx.sandbox.addresses
  const corefile = `.:53 {
    bind ${nodeIp}
    errors
    ready ${nodeIp}:${coreDnsReadyPort}
    kubernetes ${clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} ${"cartographer-test-coredns"}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
`
  const path = join(ctx.sandbox.dir, "Corefile")
  await writeFile(path, corefile)
  return ctx.sandbox.launch("coredns", ctx.binaries.coredns, ["-conf", path])
}

/** kube-router's health endpoint port (its default), inside the sandbox. */
export const kubeRouterHealthPort = 20244

/** kube-router with only its NetworkPolicy controller. */
export const startKubeRouter = async (ctx: ComponentContext): Promise<ManagedProcess> => {
  const kubeconfig = await kubeconfigFor(ctx, "kube-router", "cartographer-test-kube-router", ["system:masters"])
  return ctx.sandbox.launch("kube-router", ctx.binaries.kubeRouter, [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${ctx.nodeName}`,
    "--run-firewall=true",
    "--run-router=false",
    "--run-service-proxy=false",
    "--enable-ipv4=true",
    "--enable-ipv6=false",
    `--health-port=${kubeRouterHealthPort}`,
    "--metrics-port=0",
    "--v=1",
  ])
}

/**
 * The Services that lead to the node's own listeners: `default/kubernetes` (its ClusterIP, which pods know from
 * KUBERNETES_SERVICE_HOST, to the API server relay) and `kube-system/kube-dns` (to CoreDNS).
 */
export const clusterServiceObjects = (
  nodeIp: string,
  apiServerPort: number,
): ReadonlyArray<Record<string, unknown>> => {
  const slice = (namespace: string, service: string, ports: ReadonlyArray<Record<string, unknown>>) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: service,
      namespace,
      labels: { "kubernetes.io/service-name": service, "endpointslice.kubernetes.io/managed-by": "cartographer-test" },
    },
    addressType: "IPv4",
    endpoints: [{ addresses: [nodeIp], conditions: { ready: true } }],
    ports,
  })
  return [
    slice("default", "kubernetes", [{ name: "https", port: apiServerPort, protocol: "TCP" }]),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
      spec: {
        clusterIP: clusterDnsIp,
        ports: [
          { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
          { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
        ],
      },
    },
    slice("kube-system", "kube-dns", [
      { name: "dns", port: 53, protocol: "UDP" },
      { name: "dns-tcp", port: 53, protocol: "TCP" },
    ]),
  ]
}
