// A userspace kube-proxy for the runner's pods: every Service (in a namespace where the runner has pods) listens on
// its loopback address and its own ports, and forwards each connection to a Ready pod that its selector picks
// (round robin), at the port its `targetPort` names. No ready endpoint: the connection is closed at once, which
// clients see as a refused/reset connection, as with a Service without endpoints.
import { connect, createServer, type Server, type Socket } from "node:net"

/** Joins two sockets both ways; when either fails or closes, both are closed. */
export const splice = (client: Socket, upstream: Socket): void => {
  client.pipe(upstream).pipe(client)
  const end = () => {
    client.destroy()
    upstream.destroy()
  }
  for (const socket of [client, upstream]) {
    socket.once("error", end)
    socket.once("close", end)
  }
}

export interface ServicePort {
  readonly name?: string
  readonly port: number
  readonly targetPort?: number | string
  readonly protocol?: string
}

export interface Service {
  readonly metadata?: { readonly namespace?: string; readonly name?: string }
  readonly spec?: { readonly selector?: Record<string, string>; readonly ports?: ReadonlyArray<ServicePort> }
}

export interface Endpoint {
  readonly ip: string
  /** Resolves a target port (number or container port name) for this pod. */
  readonly port: (target: number | string) => number | undefined
}

export interface ServiceProxies {
  /** Makes the listeners match `services`; `endpoints` is asked at every new connection. */
  sync(services: ReadonlyArray<Service>): void
  close(): Promise<void>
}

const selectorMatches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels[k] === v)

export const matchesSelector = selectorMatches

export const makeServiceProxies = (options: {
  readonly serviceIp: (namespace: string, name: string) => string
  readonly endpoints: (namespace: string, selector: Record<string, string> | undefined) => ReadonlyArray<Endpoint>
  readonly onError: (message: string) => void
}): ServiceProxies => {
  const listeners = new Map<string, { server: Server; sockets: Set<Socket> }>()
  const roundRobin = new Map<string, number>()

  const listen = (key: string, svc: Service, port: ServicePort) => {
    const namespace = svc.metadata?.namespace ?? "default"
    const name = svc.metadata?.name ?? ""
    const ip = options.serviceIp(namespace, name)
    const sockets = new Set<Socket>()
    const server = createServer((client) => {
      sockets.add(client)
      client.once("close", () => sockets.delete(client))
      const ready = options.endpoints(namespace, svc.spec?.selector)
      const target = port.targetPort ?? port.port
      const candidates = ready
        .map((e) => ({ ip: e.ip, port: e.port(target) }))
        .filter((e): e is { ip: string; port: number } => e.port !== undefined)
      if (candidates.length === 0) {
        client.destroy()
        return
      }
      const turn = roundRobin.get(key) ?? 0
      roundRobin.set(key, turn + 1)
      const backend = candidates[turn % candidates.length] as { ip: string; port: number }
      const upstream = connect({ host: backend.ip, port: backend.port })
      sockets.add(upstream)
      upstream.once("close", () => sockets.delete(upstream))
      splice(client, upstream)
    })
    server.on("error", (error) =>
      options.onError(`service ${namespace}/${name} port ${port.port} on ${ip}: ${(error as Error).message}`),
    )
    server.listen({ host: ip, port: port.port })
    listeners.set(key, { server, sockets })
  }

  const closeOne = (key: string) => {
    const entry = listeners.get(key)
    if (!entry) return Promise.resolve()
    listeners.delete(key)
    for (const s of entry.sockets) s.destroy()
    return new Promise<void>((resolve) => entry.server.close(() => resolve()))
  }

  return {
    sync: (services) => {
      const wanted = new Map<string, { svc: Service; port: ServicePort }>()
      for (const svc of services) {
        for (const port of svc.spec?.ports ?? []) {
          if ((port.protocol ?? "TCP") !== "TCP") continue
          const key = `${svc.metadata?.namespace}/${svc.metadata?.name}:${port.port}>${port.targetPort ?? port.port}`
          wanted.set(key, { svc, port })
        }
      }
      for (const key of listeners.keys()) if (!wanted.has(key)) void closeOne(key)
      for (const [key, { svc, port }] of wanted) if (!listeners.has(key)) listen(key, svc, port)
    },
    close: async () => {
      await Promise.all([...listeners.keys()].map(closeOne))
    },
  }
}
