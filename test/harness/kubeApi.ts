// A small client for the API calls the test tools make, as raw HTTPS with the credentials of a KubeConfig (client certificate or
// bearer token): JSON reads and writes, merge patches of `/status`, and watches as async iterables of events.
import { type IncomingMessage, request } from "node:http"
import { Agent, request as httpsRequest } from "node:https"
import type { KubeConfig } from "@kubernetes/client-node"

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 500)}`)
  }
}

export interface WatchEvent<A> {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR"
  readonly object: A
}

export interface KubeApi {
  readonly server: string
  get<A>(path: string): Promise<A>
  /** Undefined when the object does not exist. */
  find<A>(path: string): Promise<A | undefined>
  post<A>(path: string, body: unknown): Promise<A>
  put<A>(path: string, body: unknown): Promise<A>
  mergePatch<A>(path: string, body: unknown): Promise<A>
  apply<A>(path: string, body: unknown, fieldManager: string): Promise<A>
  delete(path: string, body?: unknown): Promise<void>
  /** One watch connection from `resourceVersion`; ends when the server closes it or `signal` aborts. */
  watch<A>(path: string, query: Record<string, string>, signal: AbortSignal): AsyncIterable<WatchEvent<A>>
}

const b64 = (s: string | undefined) => (s ? Buffer.from(s, "base64") : undefined)

export const makeKubeApi = (kubeConfig: KubeConfig): KubeApi => {
  const cluster = kubeConfig.getCurrentCluster()
  const user = kubeConfig.getCurrentUser()
  if (!cluster) throw new Error("the kubeconfig has no current cluster")
  const server = cluster.server.replace(/\/+$/u, "")
  const agent = new Agent({
    keepAlive: true,
    ca: b64(cluster.caData),
    cert: b64(user?.certData),
    key: b64(user?.keyData),
    rejectUnauthorized: !cluster.skipTLSVerify,
  })
  // Bodies go with a Content-Length: a chunked DELETE body was not read by the API server, and the next request
  // on that kept-alive connection got "400 Bad Request" (seen with pod deletions).
  const headers = (payload?: { type: string; length: number }): Record<string, string> => ({
    accept: "application/json",
    ...(user?.token ? { authorization: `Bearer ${user.token}` } : {}),
    ...(payload ? { "content-type": payload.type, "content-length": String(payload.length) } : {}),
  })

  const send = (
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
    signal?: AbortSignal,
  ): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const url = new URL(server + path)
      const make = url.protocol === "https:" ? httpsRequest : request
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8")
      const req = make(
        url,
        {
          method,
          agent: url.protocol === "https:" ? agent : undefined,
          headers: headers(payload ? { type: contentType, length: payload.length } : undefined),
          signal,
          timeout: signal ? undefined : 60_000,
        },
        resolve,
      )
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timeout`)))
      req.on("error", reject)
      req.end(payload)
    })

  const readAll = async (res: IncomingMessage) => {
    const chunks: Array<Buffer> = []
    for await (const chunk of res) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString("utf8")
  }

  const call = async <A>(method: string, path: string, body?: unknown, contentType?: string): Promise<A> => {
    const res = await send(method, path, body, contentType)
    const text = await readAll(res)
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) throw new ApiError(status, text, `${method} ${path}`)
    return (text ? JSON.parse(text) : undefined) as A
  }

  return {
    server,
    get: (path) => call("GET", path),
    find: async (path) => {
      try {
        return await call("GET", path)
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return undefined
        throw error
      }
    },
    post: (path, body) => call("POST", path, body),
    put: (path, body) => call("PUT", path, body),
    mergePatch: (path, body) => call("PATCH", path, body, "application/merge-patch+json"),
    apply: (path, body, fieldManager) =>
      call(
        "PATCH",
        `${path}${path.includes("?") ? "&" : "?"}fieldManager=${encodeURIComponent(fieldManager)}&force=true`,
        body,
        "application/apply-patch+yaml",
      ),
    delete: async (path, body) => {
      try {
        await call("DELETE", path, body)
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error
      }
    },
    watch: <A>(path: string, query: Record<string, string>, signal: AbortSignal) => ({
      async *[Symbol.asyncIterator]() {
        const params = new URLSearchParams({ ...query, watch: "1", allowWatchBookmarks: "true" })
        const res = await send("GET", `${path}?${params}`, undefined, undefined, signal)
        if (res.statusCode !== 200) throw new ApiError(res.statusCode ?? 0, await readAll(res), `WATCH ${path}`)
        let buffer = ""
        try {
          for await (const chunk of res) {
            buffer += (chunk as Buffer).toString("utf8")
            let newline = buffer.indexOf("\n")
            while (newline >= 0) {
              const line = buffer.slice(0, newline).trim()
              buffer = buffer.slice(newline + 1)
              if (line) yield JSON.parse(line) as WatchEvent<A>
              newline = buffer.indexOf("\n")
            }
          }
        } catch (error) {
          if (!signal.aborted) throw error
        }
      },
    }),
  }
}
