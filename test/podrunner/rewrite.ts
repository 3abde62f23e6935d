// What a container's processes would have seen inside a pod, translated to this machine. Applied to every env
// value, to `command`/`args`, and to exec probes; one pass per rule so that a rewritten value is never rewritten
// again:
//  1. Service DNS names → the Service's loopback address (cluster DNS does not exist here). Recognised:
//     `<svc>.<ns>.svc.cluster.local`, `<svc>.<ns>.svc` (always), `<svc>.<ns>` and, in the pod's own namespace, a
//     bare `<svc>` (only for Services that exist). Ports stay: the runner's proxy listens on the Service's ports.
//  2. "All addresses" (`0.0.0.0`, `::`, a bare `:8080` or `--flag=:8080`) → the pod's address: a pod's wildcard
//     listener would take the port on the whole machine and collide with the next pod that listens on it.
//  3. Mount paths → the local directory of the volume (`/var/lib/prefect/x` → `<pod dir>/volumes/prefect-home/x`).
// In exec probes, `127.0.0.1` and `localhost` (the pod's own loopback) also become the pod's address.
// Not rewritten: `localhost` in containers' env and args (e.g. PREFECT_UI_API_URL is for the user's browser).

export interface ServiceName {
  readonly namespace: string
  readonly name: string
}

export interface Mount {
  /** Path inside the container. */
  readonly containerPath: string
  /** Directory on this machine. */
  readonly localPath: string
}

export interface RewriteContext {
  readonly namespace: string
  readonly podIp: string
  /** Services that exist now (any namespace). */
  readonly services: ReadonlyArray<ServiceName>
  readonly serviceIp: (namespace: string, name: string) => string
  readonly mounts: ReadonlyArray<Mount>
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&")

// A DNS name is delimited by anything that cannot continue it (a '.' only ends it when no label follows).
const hostStart = "(?<![A-Za-z0-9.-])"
const hostEnd = "(?![A-Za-z0-9-]|\\.[A-Za-z0-9])"
const svcPattern = new RegExp(
  `${hostStart}([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\\.svc(?:\\.cluster\\.local)?${hostEnd}`,
  "gu",
)

export const rewriteServiceNames = (value: string, ctx: RewriteContext): string => {
  // Fully qualified forms first: they name a Service even before it exists.
  let out = value.replace(svcPattern, (_, name: string, namespace: string) => ctx.serviceIp(namespace, name))
  const short = new Map<string, ServiceName>()
  for (const svc of ctx.services) {
    short.set(`${svc.name}.${svc.namespace}`, svc)
    if (svc.namespace === ctx.namespace) short.set(svc.name, svc)
  }
  if (short.size === 0) return out
  const names = [...short.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp)
  const pattern = new RegExp(`${hostStart}(?:${names.join("|")})${hostEnd}`, "gu")
  out = out.replace(pattern, (match) => {
    const svc = short.get(match)
    return svc ? ctx.serviceIp(svc.namespace, svc.name) : match
  })
  return out
}

const wildcard = /(?<![0-9.])0\.0\.0\.0(?![0-9]|\.[0-9])/gu

// `:8080` and `--flag=:8080`: Go-style "all addresses, this port".
const portOnly = /^(--?[A-Za-z0-9-]+=)?:(\d{1,5})$/u

export const rewriteBindAddresses = (value: string, ctx: RewriteContext): string => {
  if (value === "::" || value === "[::]") return ctx.podIp
  const port = portOnly.exec(value)
  if (port) return `${port[1] ?? ""}${ctx.podIp}:${port[2]}`
  return value.replace(wildcard, ctx.podIp)
}

export const rewritePaths = (value: string, ctx: RewriteContext): string => {
  if (ctx.mounts.length === 0) return value
  const byPath = new Map(ctx.mounts.map((m) => [m.containerPath.replace(/\/+$/u, "") || "/", m.localPath]))
  const paths = [...byPath.keys()].filter((p) => p !== "/").sort((a, b) => b.length - a.length)
  if (paths.length === 0) return value
  // A path starts a value, follows `=`, `:`, a quote, a comma or whitespace, or the `//` of a URL
  // (`sqlite:////var/lib/prefect/prefect.db`); it ends at a '/', the end, or a separator.
  const pattern = new RegExp(`(?<=^|[=:\\s"',]|//)(?:${paths.map(escapeRegExp).join("|")})(?=$|[/\\s"',:;])`, "gu")
  return value.replace(pattern, (match) => byPath.get(match) ?? match)
}

/** The three rewrites of a container's env value or argument. */
export const rewriteForContainer = (value: string, ctx: RewriteContext): string =>
  rewritePaths(rewriteBindAddresses(rewriteServiceNames(value, ctx), ctx), ctx)

const podLoopback = /(?<![A-Za-z0-9.-])(?:127\.0\.0\.1|localhost)(?![A-Za-z0-9-]|\.[A-Za-z0-9])/gu

/** An exec probe's argument: also the pod's own loopback → the pod's address. */
export const rewriteForProbe = (value: string, ctx: RewriteContext): string =>
  rewriteForContainer(value, ctx).replace(podLoopback, ctx.podIp)
