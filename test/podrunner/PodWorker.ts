// One pod, played as a kubelet would: check images and volumes (an unknown image or an unsupported volume is an
// event and the pod stays Pending), run the init containers in order, then every container with its restart
// policy (CrashLoopBackOff: 10 s doubling to 5 min, reset after 10 min up), its startup, liveness and readiness
// probes, and report the result as pod status (phase, conditions, container states with exit codes).
import { appendFile, mkdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import type { V1Container, V1Pod, V1PodCondition } from "@kubernetes/client-node"
import type { KubeApi } from "../harness/kubeApi.js"
import { runContainerProbes } from "./containerProbes.js"
import { type ContainerRecord, gracePeriod, newContainer, now, type State, sleep, stopSignal } from "./containers.js"
import { ConfigError, expand, resolveEnv } from "./env.js"
import { type ImageSources, type LocalImage, lookupImage } from "./images.js"
import { podStatus } from "./podStatus.js"
import { postgresUser, preparePostgres } from "./postgresEntrypoint.js"
import { type Exit, startProcess } from "./processes.js"
import { type RewriteContext, rewriteForContainer, rewriteForProbe, type ServiceName } from "./rewrite.js"
import { mountsOf, type PreparedVolume, prepareVolumes, unsupportedVolume, VolumeError } from "./volumes.js"

export interface PodWorkerDeps {
  readonly api: KubeApi
  readonly nodeName: string
  readonly hostIp: string
  readonly podIp: string
  readonly images: ImageSources
  /** This pod's directory (volumes, container scratch). */
  readonly podDir: string
  /** Where container logs go (kept after the pod is gone). */
  readonly logDir: string
  /** A short directory for Unix sockets (their paths may not exceed 107 bytes). */
  readonly socketDir: string
  readonly services: () => ReadonlyArray<ServiceName>
  readonly serviceIp: (namespace: string, name: string) => string
  readonly event: (type: "Normal" | "Warning", reason: string, message: string) => void
  readonly statusChanged: () => void
  readonly log: (line: string) => void
}

const standardPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

export class PodWorker {
  readonly uid: string
  readonly namespace: string
  readonly name: string
  pod: V1Pod
  private readonly containers: Array<ContainerRecord>
  private readonly abort = new AbortController()
  private phase: "Pending" | "Running" | "Succeeded" | "Failed" = "Pending"
  private sandboxReady = false
  private initialized = false
  private startTime = now()
  private volumes: ReadonlyArray<PreparedVolume> = []
  private stopping?: Promise<void>

  constructor(
    pod: V1Pod,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod
    this.uid = pod.metadata?.uid ?? ""
    this.namespace = pod.metadata?.namespace ?? "default"
    this.name = pod.metadata?.name ?? ""
    const record = (spec: V1Container, init: boolean) =>
      newContainer(spec, init, join(deps.logDir, `${this.namespace}_${this.name}_${spec.name}.log`))
    this.containers = [
      ...(pod.spec?.initContainers ?? []).map((c) => record(c, true)),
      ...(pod.spec?.containers ?? []).map((c) => record(c, false)),
    ]
  }

  get podIp() {
    return this.deps.podIp
  }

  /** Ready pods are Service endpoints. */
  get ready() {
    return this.currentPhase() === "Running" && this.mainContainers().every((c) => c.ready)
  }

  /** Pending until the init containers are done and every container has started once; then Running. */
  private currentPhase() {
    if (this.phase !== "Pending") return this.phase
    const everyStarted = this.mainContainers().every((c) => c.state.running || c.state.terminated || c.restartCount > 0)
    return this.initialized && everyStarted ? "Running" : "Pending"
  }

  get terminal() {
    return this.phase === "Succeeded" || this.phase === "Failed"
  }

  /** Log file of a container (also after it exited). */
  logPath(container: string) {
    return this.containers.find((c) => c.spec.name === container)?.logPath
  }

  private mainContainers() {
    return this.containers.filter((c) => !c.init)
  }

  private get restartPolicy() {
    return this.pod.spec?.restartPolicy ?? "Always"
  }

  /** Starts playing the pod (returns at once). */
  start() {
    void this.run().catch((error) => this.deps.log(`pod ${this.namespace}/${this.name}: ${String(error)}`))
  }

  private async run() {
    await mkdir(this.deps.logDir, { recursive: true })
    const images = new Map<string, LocalImage>()
    const problems: Array<string> = []
    for (const c of this.containers) {
      const found = lookupImage(c.spec.image ?? "", this.deps.images)
      if (found.ok) {
        images.set(c.spec.name, found.image)
        c.imageId = found.image.imageId
      } else {
        problems.push(found.reason)
        c.state = { waiting: { reason: "ErrImagePull", message: found.reason } }
      }
    }
    for (const v of this.pod.spec?.volumes ?? []) {
      const reason = unsupportedVolume(v)
      if (reason) problems.push(reason)
    }
    if (problems.length > 0) {
      for (const p of problems) {
        this.deps.event("Warning", p.startsWith("volume") ? "FailedMount" : "UnsupportedImage", p)
      }
      this.deps.statusChanged()
      return
    }

    // Volumes can wait for something (a PVC being bound, a Secret being created): retry like the kubelet.
    for (;;) {
      if (this.abort.signal.aborted) return
      try {
        await mkdir(this.deps.podDir, { recursive: true, mode: 0o755 })
        this.volumes = await prepareVolumes(this.deps.api, this.pod, this.deps.podDir)
        break
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        this.deps.event("Warning", "FailedMount", `MountVolume.SetUp failed: ${message}`)
        this.deps.statusChanged()
        if (!(error instanceof VolumeError)) this.deps.log(`pod ${this.namespace}/${this.name}: ${message}`)
        await sleep(5_000, this.abort.signal)
      }
    }
    this.sandboxReady = true
    this.deps.statusChanged()

    for (const c of this.containers.filter((x) => x.init)) {
      const image = images.get(c.spec.name) as LocalImage
      const ok = await this.runContainer(c, image, true)
      if (this.abort.signal.aborted) return
      if (!ok) {
        this.phase = "Failed"
        this.deps.statusChanged()
        return
      }
    }
    this.initialized = true
    this.deps.statusChanged()
    const mains = this.mainContainers()
    const results = await Promise.all(mains.map((c) => this.runContainer(c, images.get(c.spec.name) as LocalImage)))
    if (this.abort.signal.aborted) return
    this.phase = results.every(Boolean) ? "Succeeded" : "Failed"
    this.deps.statusChanged()
  }

  private rewriteContext(container: V1Container): RewriteContext {
    return {
      namespace: this.namespace,
      podIp: this.deps.podIp,
      services: this.deps.services(),
      serviceIp: this.deps.serviceIp,
      mounts: mountsOf(container, this.volumes),
    }
  }

  /** Runs one container until it is done for good; true when it ended successfully (exit 0). */
  private async runContainer(c: ContainerRecord, image: LocalImage, init = false): Promise<boolean> {
    let backoffMs = 10_000
    for (;;) {
      if (this.abort.signal.aborted) return false
      const started = Date.now()
      const exit = await this.runOnce(c, image)
      if (this.abort.signal.aborted || exit === undefined) return false
      const finishedAt = now()
      const terminated: State = {
        terminated: {
          exitCode: exit.code,
          reason: exit.code === 0 ? "Completed" : exit.signal === "SIGKILL" ? "Killed" : "Error",
          ...(exit.signal ? { signal: 0 } : {}),
          startedAt: (c.state.running?.startedAt ?? finishedAt) as unknown as Date,
          finishedAt: finishedAt as unknown as Date,
          containerID: `local://${c.process?.pid ?? 0}`,
          ...(exit.code !== 0 && c.spec.terminationMessagePolicy === "FallbackToLogsOnError"
            ? { message: await this.logTail(c) }
            : {}),
        },
      }
      c.state = terminated
      c.ready = false
      this.deps.statusChanged()
      const policy = this.restartPolicy
      const succeeded = exit.code === 0
      if (init ? succeeded : policy === "Never" || (policy === "OnFailure" && succeeded)) return succeeded
      if (init && policy === "Never") return false
      if (Date.now() - started > 600_000) backoffMs = 10_000
      c.lastState = terminated
      c.state = {
        waiting: {
          reason: "CrashLoopBackOff",
          message: `back-off ${Math.round(backoffMs / 1000)}s restarting failed container=${c.spec.name} pod=${this.name}`,
        },
      }
      this.deps.event("Warning", "BackOff", `Back-off restarting failed container ${c.spec.name} in pod ${this.name}`)
      this.deps.statusChanged()
      await sleep(backoffMs, this.abort.signal)
      backoffMs = Math.min(backoffMs * 2, 300_000)
      c.restartCount += 1
    }
  }

  private async logTail(c: ContainerRecord) {
    const text = await readFile(c.logPath, "utf8").catch(() => "")
    const lines = text.trimEnd().split("\n").slice(-80).join("\n")
    return lines.length > 2048 ? lines.slice(-2048) : lines
  }

  /** Starts the container's process and supervises it; resolves with its exit (undefined: never started). */
  private async runOnce(c: ContainerRecord, image: LocalImage): Promise<Exit | undefined> {
    const spec = c.spec
    const ctx = this.rewriteContext(spec)
    const rootfs = join(this.deps.podDir, "rootfs", spec.name)
    let vars: Map<string, string>
    for (;;) {
      try {
        vars = await resolveEnv(this.deps.api, this.pod, spec, { podIp: this.deps.podIp, hostIp: this.deps.hostIp })
        break
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error
        c.state = { waiting: { reason: "CreateContainerConfigError", message: error.message } }
        this.deps.event("Warning", "Failed", `Error: ${error.message}`)
        this.deps.statusChanged()
        await sleep(5_000, this.abort.signal)
        if (this.abort.signal.aborted) return undefined
      }
    }
    // The image's environment, then the pod's (rewritten for this machine).
    const env: Record<string, string> = {
      PATH: [...image.path, standardPath].join(":"),
      HOSTNAME: this.name,
      HOME: join(rootfs, "root"),
      LANG: "C.UTF-8",
      TMPDIR: ctx.mounts.find((m) => m.containerPath === "/tmp")?.localPath ?? join(rootfs, "tmp"),
    }
    for (const [k, v] of vars) env[k] = rewriteForContainer(v, ctx)
    const token = this.volumes.find(
      (v) => v.kubeconfig && spec.volumeMounts?.some((m) => m.name === v.name && m.mountPath === serviceAccountDir),
    )
    // Clients look for the in-cluster token at a fixed path that does not exist here; without
    // KUBERNETES_SERVICE_HOST they fall back to $KUBECONFIG, which carries the same ServiceAccount token.
    if (token?.kubeconfig && env.KUBECONFIG === undefined) env.KUBECONFIG = token.kubeconfig
    if (image.entrypoint === "prefect" && env.EXTRA_PIP_PACKAGES && !spec.command) {
      this.deps.event(
        "Warning",
        "Unsupported",
        `EXTRA_PIP_PACKAGES (${env.EXTRA_PIP_PACKAGES}) is not installed by the local pod runner`,
      )
    }
    const expandAll = (xs: ReadonlyArray<string> | undefined) =>
      (xs ?? []).map((x) => rewriteForContainer(expand(x, vars), ctx))
    let argv = spec.command ? [...expandAll(spec.command), ...expandAll(spec.args)] : expandAll(spec.args)
    if (!spec.command && argv.length === 0) argv = [...image.defaultArgs]
    if (!spec.command && image.entrypointArgv) argv = [...image.entrypointArgv, ...argv]
    if (!spec.command && image.entrypoint === "postgres" && argv[0]?.startsWith("-")) argv = ["postgres", ...argv]
    const workingDir = spec.workingDir ? rewriteForContainer(spec.workingDir, ctx) : undefined
    const cwd =
      workingDir && ctx.mounts.some((m) => workingDir.startsWith(m.localPath))
        ? workingDir
        : join(rootfs, workingDir ?? "")
    await mkdir(cwd, { recursive: true })
    await mkdir(env.HOME as string, { recursive: true }).catch(() => undefined)
    await mkdir(env.TMPDIR as string, { recursive: true }).catch(() => undefined)

    let launch: { command: string; args: Array<string>; user?: { uid: number; gid: number } }
    const [command, ...args] = argv
    try {
      if (!spec.command && image.entrypoint === "postgres" && command === "postgres") {
        const user = await postgresUser()
        const socketDir = join(this.deps.socketDir, spec.name)
        const prepared = await preparePostgres({
          binDir: image.path[0] as string,
          env,
          args,
          podIp: this.deps.podIp,
          socketDir,
          ownedDirs: [this.deps.podDir, ...ctx.mounts.map((m) => m.localPath)],
          user,
          log: (line) => this.appendLog(c, line),
        })
        launch = { ...prepared, ...(user ? { user } : {}) }
      } else {
        launch = { command: command ?? "true", args }
      }
    } catch (error) {
      this.appendLog(c, error instanceof Error ? error.message : String(error))
      c.state = { running: { startedAt: now() as unknown as Date } }
      return { code: 1 }
    }

    c.env = env
    c.cwd = cwd
    c.started = false
    c.ready = false
    const proc = startProcess({ ...launch, env, cwd, logPath: c.logPath })
    c.process = proc
    c.state = { running: { startedAt: now() as unknown as Date } }
    this.deps.event("Normal", "Started", `Started container ${spec.name}`)
    this.deps.statusChanged()
    const probing = new AbortController()
    void this.probe(c, image, ctx, probing.signal)
    const exit = await proc.exited
    probing.abort()
    return exit
  }

  private appendLog(c: ContainerRecord, line: string) {
    void appendFile(c.logPath, `${line}\n`).catch(() => undefined)
  }

  private probe(c: ContainerRecord, image: LocalImage, ctx: RewriteContext, signal: AbortSignal) {
    return runContainerProbes(c, {
      target: {
        podIp: this.deps.podIp,
        container: c.spec,
        env: c.env ?? {},
        cwd: c.cwd ?? this.deps.podDir,
        rewrite: (arg: string) => rewriteForProbe(arg, ctx),
      },
      restart: async () => {
        await c.process?.stop(stopSignal(image), gracePeriod(this.pod) * 1000)
      },
      event: this.deps.event,
      statusChanged: this.deps.statusChanged,
      signal,
    })
  }

  /** Stops every process (the pod is being deleted, or the runner stops). */
  stop(graceSeconds = gracePeriod(this.pod)): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort()
      await Promise.all(
        this.containers.map(async (c) => {
          if (!c.process?.running()) return
          const image = lookupImage(c.spec.image ?? "", this.deps.images)
          const exit = await c.process.stop(image.ok ? stopSignal(image.image) : "SIGTERM", graceSeconds * 1000)
          c.state = {
            terminated: {
              exitCode: exit.code,
              reason: exit.code === 0 ? "Completed" : "Error",
              startedAt: (c.state.running?.startedAt ?? now()) as unknown as Date,
              finishedAt: now() as unknown as Date,
            },
          }
          c.ready = false
        }),
      )
    })()
    return this.stopping
  }

  /** The status this pod should have now (merge-patched to `/status`). */
  status(previous: ReadonlyArray<V1PodCondition> = []): Record<string, unknown> {
    return podStatus(
      {
        phase: this.currentPhase(),
        containers: this.containers,
        sandboxReady: this.sandboxReady,
        initialized: this.initialized,
        terminal: this.terminal,
        hostIp: this.deps.hostIp,
        podIp: this.deps.podIp,
        startTime: this.startTime,
      },
      previous,
    )
  }
}
