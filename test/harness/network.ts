// Loopback-only networking: free ports picked by the kernel, HTTPS probes that trust the run's CA.
import { readFileSync } from "node:fs"
import { request } from "node:https"
import { createServer } from "node:net"

/** A port the kernel considers free on 127.0.0.1 right now (the components bind with SO_REUSEADDR). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once("error", reject)
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const address = server.address()
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      )
    })
  })

export interface TlsFiles {
  readonly ca: string
  readonly cert: string
  readonly key: string
}

/** GET over HTTPS with a client certificate; resolves with the status and body, never rejects on HTTP errors. */
export const httpsGet = (url: string, tls: TlsFiles, timeoutMs = 5_000): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: readFileSync(tls.ca),
        cert: readFileSync(tls.cert),
        key: readFileSync(tls.key),
        timeout: timeoutMs,
      },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          body += chunk
        })
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)))
    req.on("error", reject)
    req.end()
  })

// The harness's components wait for their processes with the tests' one polling loop.
export { pollUntil } from "./poll.js"
