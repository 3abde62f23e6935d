// The pod's own probes, run for real: HTTP GET against the pod's address (2xx/3xx pass), TCP connect, and exec of
// the probe's command with the container's PATH and env (so `pg_isready` is Debian's). One attempt per call; the
// container decides what thresholds mean.
import { spawn } from "node:child_process"
import { request } from "node:http"
import { request as httpsRequest } from "node:https"
import { connect } from "node:net"
import type { V1Container, V1Probe } from "@kubernetes/client-node"

export interface ProbeTarget {
  readonly podIp: string
  readonly container: V1Container
  /** The container's environment (exec probes run with it). */
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  /** Rewrites one exec argument as the container's own arguments were, plus the pod's loopback → its address. */
  readonly rewrite: (arg: string) => string
}

export const resolvePort = (container: V1Container, port: number | string | undefined): number | undefined => {
  if (typeof port === "number") return port
  if (port === undefined) return undefined
  if (/^\d+$/u.test(port)) return Number(port)
  return container.ports?.find((p) => p.name === port)?.containerPort
}

const httpProbe = (probe: V1Probe, target: ProbeTarget, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const get = probe.httpGet
    const port = resolvePort(target.container, get?.port as number | string | undefined)
    if (!get || port === undefined) return resolve(false)
    const https = get.scheme === "HTTPS"
    const headers: Record<string, string> = { "user-agent": "kube-probe/local" }
    for (const h of get.httpHeaders ?? []) headers[h.name] = h.value
    const req = (https ? httpsRequest : request)(
      {
        host: get.host || target.podIp,
        port,
        path: get.path ?? "/",
        method: "GET",
        headers,
        timeout: timeoutMs,
        ...(https ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        res.resume()
        const code = res.statusCode ?? 0
        resolve(code >= 200 && code < 400)
      },
    )
    req.on("timeout", () => req.destroy())
    req.on("error", () => resolve(false))
    req.end()
  })

const tcpProbe = (probe: V1Probe, target: ProbeTarget, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const port = resolvePort(target.container, probe.tcpSocket?.port as number | string | undefined)
    if (port === undefined) return resolve(false)
    const socket = connect({ host: probe.tcpSocket?.host || target.podIp, port, timeout: timeoutMs })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(false))
  })

const execProbe = (probe: V1Probe, target: ProbeTarget, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const [command, ...args] = (probe.exec?.command ?? []).map(target.rewrite)
    if (!command) return resolve(false)
    const child = spawn(command, args, {
      env: target.env,
      cwd: target.cwd,
      stdio: "ignore",
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    })
    child.once("error", () => resolve(false))
    child.once("exit", (code) => resolve(code === 0))
  })

/** One attempt: true when the probe passes. */
export const runProbe = (probe: V1Probe, target: ProbeTarget): Promise<boolean> => {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000
  if (probe.httpGet) return httpProbe(probe, target, timeoutMs)
  if (probe.tcpSocket) return tcpProbe(probe, target, timeoutMs)
  if (probe.exec) return execProbe(probe, target, timeoutMs)
  return Promise.resolve(false)
}
