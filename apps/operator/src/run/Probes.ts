/**
 * The operator's HTTP endpoints, on Effect's HTTP server over Node's (controller-runtime's layout: probes on one
 * address, metrics on another):
 *
 * - `/healthz`: the process is alive and its event loop answers. Never depends on leadership or the API server,
 *   so that a standby or a partitioned replica is not restarted for nothing.
 * - `/readyz`: the watch caches have synced (503 until then).
 * - `/metrics`: Prometheus text format.
 */
import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, type Layer, type Scope } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import type { ServeError } from "effect/http/HttpServerError"
import { NetAddress } from "effect/net"
import type { BindAddress } from "../cli/Options.js"
import type { OperatorMetrics } from "./Metrics.js"

const text = (body: string, status = 200) =>
  HttpServerResponse.text(`${body}\n`, { status, contentType: "text/plain; charset=utf-8" })

/** `/healthz` and `/readyz`. */
export const probeRoutes = (isReady: Effect.Effect<boolean>) =>
  HttpRouter.use(
    Effect.fn(function* (router) {
      yield* router.add("GET", "/healthz", Effect.succeed(text("ok")))
      yield* router.add(
        "GET",
        "/readyz",
        Effect.map(isReady, (ready) => (ready ? text("ok") : text("caches not synced", 503))),
      )
    }),
  )

/** `/metrics`. */
export const metricsRoutes = (metrics: OperatorMetrics) =>
  HttpRouter.use(
    Effect.fn(function* (router) {
      yield* router.add(
        "GET",
        "/metrics",
        metrics.scrape.pipe(Effect.map(({ body, contentType }) => HttpServerResponse.text(body, { contentType }))),
      )
    }),
  )

/**
 * Serves `routes` on `address` for the life of the scope and logs the bound address (with port 0, the one the
 * system picked). Closing waits at most 2 s for open requests: probes and scrapes are short.
 */
export const serve = (
  name: string,
  address: BindAddress,
  routes: Layer.Layer<never, never, HttpRouter.HttpRouter>,
): Effect.Effect<void, ServeError, Scope.Scope> =>
  Effect.gen(function* () {
    const server = yield* NodeHttpServer.make(() => createServer(), {
      port: address.port,
      ...(address.host === undefined ? {} : { host: address.host }),
      gracefulShutdownTimeout: "2 seconds",
    })
    const app = yield* HttpRouter.toHttpEffect(routes)
    yield* server.serve(app)
    const bound = server.address
    yield* Effect.logInfo(`serving ${name}`, {
      server: name,
      address: NetAddress.formatSocketAddress(bound),
      ...(NetAddress.isInetAddress(bound) ? { port: bound.port } : {}),
    })
  })
