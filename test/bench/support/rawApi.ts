// A bare HTTPS client for the API server: node's own `https` with one keep-alive pool and nothing else (no
// Effect, no retries, no decoding). The benchmark's ceiling is measured with it, so that "the API server's own
// write limit" is not lowered by the client; the fuzzer uses it to send query parameters (`fieldValidation`,
// `dryRun`) and bodies exactly as written.
import { Agent, request } from "node:https"
import type { KubeConfig } from "@kubernetes/client-node"

export interface RawResponse {
  readonly status: number
  readonly body: string
}

export interface RawRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  readonly path: string
  readonly query?: Readonly<Record<string, string>>
  /** Sent as is when a string, else as JSON. */
  readonly body?: unknown
  readonly contentType?: string
  /** Default 30 s; a request that takes longer rejects (a hang is a finding, not a wait). */
  readonly timeoutMs?: number
}

export interface RawApi {
  readonly server: string
  send(request: RawRequest): Promise<RawResponse>
  close(): void
}

/** A client for the kubeconfig's current context, with at most `maxSockets` connections (the concurrency). */
export const rawApi = async (kubeConfig: KubeConfig, options: { readonly maxSockets: number }): Promise<RawApi> => {
  const cluster = kubeConfig.getCurrentCluster()
  if (cluster === null) throw new Error("kubeconfig has no current cluster")
  const tls: { ca?: unknown; cert?: unknown; key?: unknown; headers?: Record<string, unknown> } = {}
  await kubeConfig.applyToHTTPSOptions(tls as Parameters<KubeConfig["applyToHTTPSOptions"]>[0])
  const agent = new Agent({
    keepAlive: true,
    maxSockets: options.maxSockets,
    ca: tls.ca as Buffer,
    cert: tls.cert as Buffer,
    key: tls.key as Buffer,
  })
  const headers = (tls.headers ?? {}) as Record<string, string>
  const server = cluster.server.replace(/\/+$/u, "")
  const send = (r: RawRequest): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const url = new URL(server + r.path)
      for (const [key, value] of Object.entries(r.query ?? {})) url.searchParams.set(key, value)
      const body = r.body === undefined ? undefined : typeof r.body === "string" ? r.body : JSON.stringify(r.body)
      const timeoutMs = r.timeoutMs ?? 30_000
      const req = request(
        url,
        {
          method: r.method,
          agent,
          headers: {
            ...headers,
            accept: "application/json",
            ...(body === undefined
              ? {}
              : { "content-type": r.contentType ?? "application/json", "content-length": Buffer.byteLength(body) }),
          },
        },
        (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (chunk: Buffer) => chunks.push(chunk))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
          res.on("error", reject)
        },
      )
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${r.method} ${r.path}: no answer within ${timeoutMs} ms`)))
      req.on("error", reject)
      req.end(body)
    })
  return { server, send, close: () => agent.destroy() }
}

/** Runs `work` over `items` with at most `concurrency` in flight; resolves with the results in order. */
export const mapConcurrently = async <A, B>(
  items: ReadonlyArray<A>,
  concurrency: number,
  work: (item: A, index: number) => Promise<B>,
): Promise<Array<B>> => {
  const results = new Array<B>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index] as A, index)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker))
  return results
}
