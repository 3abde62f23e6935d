// The pod runner: a kubelet for one Node whose containers are local processes. It registers its Node, watches the
// pods the scheduler binds to it, plays each with a PodWorker, writes their status through `pods/status`, records
// events, finishes deletions, proxies Services to ready pods on loopback addresses and provisions local volumes.
import { chmod, mkdir, rm } from "node:fs/promises"
import { join } from "node:path"
import type { KubeConfig, V1Pod } from "@kubernetes/client-node"
import { type KubeApi, makeKubeApi } from "../harness/kubeApi.js"
import { ownedTempDir } from "../harness/processes.js"
import { prefectVenv, prefectVersion } from "../prefect/index.js"
import { type Addresses, makeAddresses } from "./addresses.js"
import { findPostgresBin, type ImageSources } from "./images.js"
import { type LocalNode, registerNode } from "./LocalNode.js"
import { PodWorker } from "./PodWorker.js"
import { resolvePort } from "./probes.js"
import { startProvisioner } from "./provisioner.js"
import { type Reflector, reflect } from "./Reflector.js"
import type { ServiceName } from "./rewrite.js"
import { makeServiceProxies, matchesSelector, type Service } from "./serviceProxy.js"

export interface PodRunnerOptions {
  /** Admin credentials (the runner acts for the kubelet, the PV provisioner and kube-proxy). */
  readonly kubeConfig: KubeConfig
  /** Default `cartographer-local`. */
  readonly nodeName?: string
  /**
   * Taint the node so that only pods tolerating `cartographer.dev/pod-runner` land on it (a cluster shared with
   * kwok nodes). Default false: every pod the scheduler sends is run.
   */
  readonly exclusive?: boolean
  /** Namespaces whose PersistentVolumeClaims it provisions. Default: all. */
  readonly namespaces?: (namespace: string) => boolean
  /** Where pod directories, volumes and logs live. Default: a fresh temp dir, removed by stop(). */
  readonly workDir?: string
  /**
   * How to run the `cartographer` image (the operator) from this checkout, e.g. `[node, run-ts.mjs, main.ts]`.
   * Default: pods of that image stay Pending.
   */
  readonly operatorEntrypoint?: ReadonlyArray<string>
  /** Progress and problems. Default: stderr with a `[podrunner]` prefix. */
  readonly log?: (line: string) => void
}

export interface PodRunner {
  readonly nodeName: string
  readonly workDir: string
  readonly addresses: Addresses
  /** Where a Service port answers on this machine (the runner's proxy): `http://<ip>:<port>`. */
  serviceUrl(namespace: string, name: string, port: number): string
  /** The log file of a pod's container (also after the pod is gone), if that pod ran here. */
  logPath(namespace: string, pod: string, container: string): string | undefined
  /** The pods it plays now. */
  pods(): ReadonlyArray<{
    readonly namespace: string
    readonly name: string
    readonly ip: string
    readonly ready: boolean
  }>
  /** Stops every process, deletes its pods (grace 0) and its Node, removes its directory. */
  stop(): Promise<void>
  /** Stops every process without a word to the API server (when it is gone already), removes its directory. */
  kill(): Promise<void>
}

const micro = () => new Date().toISOString().replace("Z", "000Z")

export const startPodRunner = async (options: PodRunnerOptions): Promise<PodRunner> => {
  const log = options.log ?? ((line: string) => process.stderr.write(`[podrunner] ${line}\n`))
  const api: KubeApi = makeKubeApi(options.kubeConfig)
  const nodeName = options.nodeName ?? "cartographer-local"
  const ownsWorkDir = options.workDir === undefined
  // Temp dirs owned by this process: removed on every exit path, and swept by the next run if it was SIGKILLed.
  const owned = ownsWorkDir ? await ownedTempDir("cartographer-podrunner-") : undefined
  const workDir = options.workDir ?? (owned as { dir: string }).dir
  await mkdir(workDir, { recursive: true })
  // Traversable by the `postgres` user, which owns its data directories below.
  await chmod(workDir, 0o755)
  const logDir = join(workDir, "logs")
  await mkdir(logDir, { recursive: true })
  // Unix socket paths are limited to 107 bytes: Postgres' sockets go to a short directory of their own.
  const sockets = await ownedTempDir("cgpg-")
  const socketRoot = sockets.dir
  await chmod(socketRoot, 0o755)

  const venv = await prefectVenv(log)
  const postgresBin = findPostgresBin()
  const images: ImageSources = {
    prefect: { venv, version: prefectVersion },
    ...(postgresBin ? { postgresBin } : {}),
    ...(options.operatorEntrypoint ? { operator: { entrypoint: options.operatorEntrypoint } } : {}),
  }
  if (!postgresBin) log("no PostgreSQL server found (apt-get install postgresql): postgres pods will stay Pending")

  const addresses = makeAddresses()
  const serves = options.namespaces ?? (() => true)
  const node: LocalNode = await registerNode(api, { name: nodeName, exclusive: options.exclusive ?? false, log })
  const workers = new Map<string, PodWorker>()
  const logPaths = new Map<string, string>()

  // --- events, deduplicated per pod and message for a minute (the kubelet aggregates the same way)
  const recent = new Map<string, number>()
  const event = (pod: V1Pod, type: "Normal" | "Warning", reason: string, message: string) => {
    const key = `${pod.metadata?.uid}/${reason}/${message}`
    const last = recent.get(key)
    if (last !== undefined && Date.now() - last < 60_000) return
    recent.set(key, Date.now())
    if (type === "Warning") log(`${pod.metadata?.namespace}/${pod.metadata?.name}: ${reason}: ${message}`)
    const namespace = pod.metadata?.namespace ?? "default"
    void api
      .post(`/api/v1/namespaces/${namespace}/events`, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${pod.metadata?.name}.`, namespace },
        involvedObject: {
          apiVersion: "v1",
          kind: "Pod",
          namespace,
          name: pod.metadata?.name,
          uid: pod.metadata?.uid,
          resourceVersion: pod.metadata?.resourceVersion,
        },
        reason,
        message,
        type,
        source: { component: "kubelet", host: nodeName },
        reportingComponent: "kubelet",
        reportingInstance: nodeName,
        firstTimestamp: new Date().toISOString(),
        lastTimestamp: new Date().toISOString(),
        eventTime: micro(),
        action: reason,
        count: 1,
      })
      .catch((e) => log(`event: ${String(e)}`))
  }

  // --- services: names for rewriting, proxies for the namespaces that have pods here
  const services: Reflector<Service> = reflect<Service>(
    api,
    "/api/v1/services",
    {},
    () => syncProxies(),
    (e) => log(`services watch: ${String(e)}`),
  )
  const serviceNames = (): ReadonlyArray<ServiceName> =>
    [...services.items.values()].map((s) => ({ namespace: s.metadata?.namespace ?? "", name: s.metadata?.name ?? "" }))
  const proxies = makeServiceProxies({
    serviceIp: addresses.serviceIp,
    endpoints: (namespace, selector) =>
      [...workers.values()]
        .filter((w) => w.namespace === namespace && w.ready && matchesSelector(selector, w.pod.metadata?.labels ?? {}))
        .map((w) => ({
          ip: w.podIp,
          port: (target) => {
            for (const c of w.pod.spec?.containers ?? []) {
              const port = resolvePort(c, target)
              if (port !== undefined) return port
            }
            return undefined
          },
        })),
    onError: log,
  })
  function syncProxies() {
    const namespaces = new Set([...workers.values()].map((w) => w.namespace))
    proxies.sync([...services.items.values()].filter((s) => namespaces.has(s.metadata?.namespace ?? "")))
  }

  // --- status writes: coalesced per pod, one in flight at a time
  const pendingStatus = new Set<string>()
  let flushing = false
  const flush = async () => {
    if (flushing) return
    flushing = true
    try {
      while (pendingStatus.size > 0) {
        const uids = [...pendingStatus]
        pendingStatus.clear()
        for (const uid of uids) {
          const worker = workers.get(uid)
          if (!worker) continue
          const path = `/api/v1/namespaces/${worker.namespace}/pods/${worker.name}/status`
          try {
            const updated = await api.mergePatch<V1Pod>(path, {
              metadata: { uid },
              status: worker.status(worker.pod.status?.conditions ?? []),
            })
            if (updated?.metadata?.uid === uid) worker.pod = updated
          } catch (error) {
            log(`status of ${worker.namespace}/${worker.name}: ${String(error).slice(0, 600)}`)
          }
        }
        syncProxies()
      }
    } finally {
      flushing = false
    }
  }
  const statusChanged = (uid: string) => {
    pendingStatus.add(uid)
    setTimeout(() => void flush(), 100)
  }

  // --- pods bound to this node
  const finishDeletion = async (worker: PodWorker) => {
    await worker.stop()
    workers.delete(worker.uid)
    addresses.releasePod(worker.uid)
    syncProxies()
    // As the kubelet does once the containers are gone: grace 0, only this incarnation of the pod (retried until
    // the pod is gone: nothing else would finish the deletion).
    const path = `/api/v1/namespaces/${worker.namespace}/pods/${worker.name}`
    for (let attempt = 0; attempt < 10; attempt++) {
      await api
        .delete(path, {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
          preconditions: { uid: worker.uid },
        })
        .catch((e) => log(`delete ${worker.namespace}/${worker.name}: ${String(e)}`))
      const left = await api.find<V1Pod>(path).catch(() => undefined)
      if (left?.metadata?.uid !== worker.uid) break
      await new Promise((resolve) => setTimeout(resolve, 2_000))
    }
    await rm(join(workDir, "pods", worker.uid), { recursive: true, force: true }).catch(() => undefined)
    await rm(join(socketRoot, worker.uid.slice(0, 8)), { recursive: true, force: true }).catch(() => undefined)
  }

  const onPod = (type: "ADDED" | "MODIFIED" | "DELETED", pod: V1Pod) => {
    const uid = pod.metadata?.uid ?? ""
    let worker = workers.get(uid)
    if (type === "DELETED") {
      if (worker) {
        workers.delete(uid)
        void worker.stop(0).then(() => {
          addresses.releasePod(uid)
          syncProxies()
          return rm(join(workDir, "pods", uid), { recursive: true, force: true })
        })
      }
      return
    }
    if (!worker) {
      const phase = pod.status?.phase
      // A pod that already ended (e.g. before a runner restart) is history, not work.
      if (phase === "Succeeded" || phase === "Failed") return
      if (pod.metadata?.deletionTimestamp) {
        void api.delete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
          gracePeriodSeconds: 0,
          preconditions: { uid },
        })
        return
      }
      const namespace = pod.metadata?.namespace ?? "default"
      const name = pod.metadata?.name ?? ""
      worker = new PodWorker(pod, {
        api,
        nodeName,
        hostIp: node.hostIp,
        podIp: addresses.podIp(uid),
        images,
        podDir: join(workDir, "pods", uid),
        logDir,
        socketDir: join(socketRoot, uid.slice(0, 8)),
        services: serviceNames,
        serviceIp: addresses.serviceIp,
        event: (t, reason, message) => event(pod, t, reason, message),
        statusChanged: () => statusChanged(uid),
        log,
      })
      workers.set(uid, worker)
      for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
        const path = worker.logPath(c.name)
        if (path) logPaths.set(`${namespace}/${name}/${c.name}`, path)
      }
      syncProxies()
      statusChanged(uid)
      worker.start()
      return
    }
    worker.pod = pod
    if (pod.metadata?.deletionTimestamp) void finishDeletion(worker)
  }

  await services.synced
  const pods = reflect<V1Pod>(api, "/api/v1/pods", { fieldSelector: `spec.nodeName=${nodeName}` }, onPod, (e) =>
    log(`pods watch: ${String(e)}`),
  )
  const provisioner = startProvisioner(api, { volumeDir: join(workDir, "volumes"), serves, log })
  await pods.synced
  await provisioner.synced
  log(`node ${nodeName} ready (pods on 127.${addresses.octet}.0.0/17, Services on 127.${addresses.octet}.128.0/17)`)

  let stopped: Promise<void> | undefined
  const kill = async () => {
    pods.stop()
    provisioner.stop()
    services.stop()
    await Promise.all([...workers.values()].map((w) => w.stop(5)))
    workers.clear()
    await proxies.close()
    await node.stop(false)
    await rm(socketRoot, { recursive: true, force: true }).catch(() => undefined)
    sockets.forget()
    if (ownsWorkDir && !process.env.CARTOGRAPHER_TEST_KEEP_TMP) {
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined)
    }
    owned?.forget()
  }
  return {
    kill: () => {
      stopped ??= kill()
      return stopped
    },
    nodeName,
    workDir,
    addresses,
    serviceUrl: (namespace, name, port) => `http://${addresses.serviceIp(namespace, name)}:${port}`,
    logPath: (namespace, pod, container) => logPaths.get(`${namespace}/${pod}/${container}`),
    pods: () =>
      [...workers.values()].map((w) => ({ namespace: w.namespace, name: w.name, ip: w.podIp, ready: w.ready })),
    stop: () => {
      stopped ??= (async () => {
        pods.stop()
        provisioner.stop()
        services.stop()
        const all = [...workers.values()]
        await Promise.all(all.map((w) => w.stop(10)))
        await proxies.close()
        // Like a node that is gone for good: its pods are removed, so that namespace deletions can finish.
        await Promise.all(
          all.map((w) =>
            api
              .delete(`/api/v1/namespaces/${w.namespace}/pods/${w.name}`, {
                gracePeriodSeconds: 0,
                preconditions: { uid: w.uid },
              })
              .catch(() => undefined),
          ),
        )
        workers.clear()
        await node.stop()
        await rm(socketRoot, { recursive: true, force: true }).catch(() => undefined)
        sockets.forget()
        if (ownsWorkDir && !process.env.CARTOGRAPHER_TEST_KEEP_TMP) {
          await rm(workDir, { recursive: true, force: true }).catch(() => undefined)
        }
        owned?.forget()
      })()
      return stopped
    },
  }
}
