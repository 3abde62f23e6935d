/**
 * Raw HTTP to the API server through client-node's own configuration: `KubeConfig.applySecurityAuthentication`
 * supplies the auth headers (tokens, exec plugins, in-cluster token rotation) and the TLS dispatcher (an undici
 * Agent). Requests and watches go through that dispatcher's `request` API. This is the only module that touches
 * client-node at runtime.
 *
 * Why not the typed API classes: they deserialize timestamps into `Date`s, cannot target `/status` generically,
 * throw untyped `ApiException`s, and their `Watch` aborts after 30 s of silence and drops unparseable lines.
 */
import { HttpMethod, IsomorphicFetchHttpLibrary, type KubeConfig, RequestContext } from "@kubernetes/client-node"
import { Duration, Effect, type Scope } from "effect"
import type { K8sErrorReason } from "../K8sError.js"
import { Transport } from "../K8sError.js"
import * as Classify from "./classify.js"

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

export interface HttpRequest {
  readonly method: Method
  /** Absolute API path (`/apis/apps/v1/namespaces/ns/deployments/name`). */
  readonly path: string
  readonly query?: Readonly<Record<string, string | undefined>> | undefined
  /** Serialized as JSON. */
  readonly body?: unknown
  /** Defaults to `application/json` when there is a body. */
  readonly contentType?: string | undefined
}

export interface HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface StreamingResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The body's chunks as they arrive (a Node stream, or fetch's web stream without a dispatcher). */
  readonly body: AsyncIterable<Uint8Array>
}

export interface HttpTransport {
  /** The cluster's server URL (from the kubeconfig's current context). */
  readonly server: string
  /** Sends a request and reads the whole body, whatever the status. Fails only when no HTTP answer arrived. */
  readonly request: (request: HttpRequest, timeout: Duration.Input) => Effect.Effect<HttpResponse, K8sErrorReason>
  /**
   * Opens a streaming request (watch). Fails with the classified failure unless the status is 200. The connection
   * is aborted when the scope closes. `connectTimeout` bounds the wait for response headers.
   */
  readonly stream: (
    request: HttpRequest,
    connectTimeout: Duration.Input,
  ) => Effect.Effect<StreamingResponse, K8sErrorReason, Scope.Scope>
}

const methods: Record<Method, HttpMethod> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
}

const buildUrl = (server: string, request: HttpRequest): URL => {
  const url = new URL(server.replace(/\/+$/u, "") + request.path)
  for (const [key, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, value)
  }
  return url
}

/** undici's response headers (repeated ones as arrays), joined as fetch's `Headers` joins them. */
const flatHeaders = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) => {
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = typeof value === "string" ? value : value.join(", ")
  }
  return flat
}

/** A response whose headers have arrived; its body is read whole or streamed, once. */
interface OpenResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: () => Promise<string>
  readonly stream: () => AsyncIterable<Uint8Array> | null
}

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>

/**
 * The dispatcher restricted to HTTP/1.1. undici (client-node's fetch) negotiates HTTP/2 by default, which puts every
 * watch and write on one session: when kube-apiserver restarts with requests in flight, undici's GOAWAY handling
 * could spin synchronously and grow native memory until the process died (seen in the watch chaos tests), and
 * one stalled session stalls every watch at once (client-go needs h2 health pings for that). One connection per
 * concurrent request, pooled and kept alive, isolates watches from each other at the cost of a few sockets.
 */
const http1Only = (dispatcher: Dispatcher): Dispatcher =>
  dispatcher.compose(
    (dispatch) => (options, handler) => dispatch({ ...options, allowH2: false } as typeof options, handler),
  )

/**
 * Builds the transport for one KubeConfig. One TLS dispatcher (connection pool) is kept for the transport's
 * lifetime: client-node would build a fresh one per request, which defeats keep-alive. A cluster without TLS
 * settings (plain HTTP, or HTTPS with the system's CAs) gets no dispatcher from client-node: its requests go through
 * client-node's fetch and undici's global pool.
 */
export const make = (
  kubeConfig: KubeConfig,
  options: { readonly userAgent: string; readonly credentialsReuse: Duration.Input },
): Effect.Effect<HttpTransport, K8sErrorReason, Scope.Scope> =>
  Effect.gen(function* () {
    const authRefreshMillis = Duration.toMillis(Duration.fromInputUnsafe(options.credentialsReuse))
    const cluster = kubeConfig.getCurrentCluster()
    if (cluster === null) {
      return yield* new Transport({ message: "the kubeconfig has no current cluster" })
    }
    const server = cluster.server
    const library = new IsomorphicFetchHttpLibrary()
    let dispatcher: Dispatcher | undefined

    yield* Effect.addFinalizer(() =>
      dispatcher === undefined
        ? Effect.void
        : Effect.tryPromise({
            try: () => dispatcher?.destroy() ?? Promise.resolve(),
            catch: Classify.fromException,
          }).pipe(
            Effect.catch((reason) => Effect.logDebug("closing the Kubernetes connection pool failed", reason.message)),
          ),
    )

    /**
     * The authentication headers, computed by client-node at most once per `credentialsReuse`. Each of its
     * computations reads the CA and client certificates (files, synchronously) and builds a TLS connection pool
     * that only the first request needs, which a convergence's CPU profile showed per request; client-go itself
     * re-reads a token file once a minute. A 401 drops them, so that a rotated token is used at once.
     */
    let auth: { readonly headers: Readonly<Record<string, string>>; readonly at: number } | undefined
    const authHeaders = async (url: URL): Promise<Readonly<Record<string, string>>> => {
      const now = Date.now()
      if (auth !== undefined && now - auth.at < authRefreshMillis) return auth.headers
      const context = new RequestContext(url.toString(), HttpMethod.GET)
      await kubeConfig.applySecurityAuthentication(context)
      const fresh = context.getDispatcher()
      if (fresh !== undefined && dispatcher === undefined) dispatcher = http1Only(fresh)
      auth = { headers: context.getHeaders(), at: now }
      return auth.headers
    }
    const unauthorized = (status: number) => {
      if (status === 401) auth = undefined
    }

    /** Builds an authenticated request context, whose dispatcher is the transport's pool when client-node gives one. */
    const prepare = async (request: HttpRequest, url: URL, signal: AbortSignal): Promise<RequestContext> => {
      const headers = await authHeaders(url)
      const context = new RequestContext(url.toString(), methods[request.method])
      for (const [name, value] of Object.entries(headers)) context.setHeaderParam(name, value)
      if (dispatcher !== undefined) context.setDispatcher(dispatcher)
      context.setHeaderParam("Accept", "application/json")
      context.setHeaderParam("User-Agent", options.userAgent)
      if (request.body !== undefined) {
        context.setHeaderParam("Content-Type", request.contentType ?? "application/json")
        context.setBody(JSON.stringify(request.body))
      }
      context.setSignal(signal)
      return context
    }

    /**
     * undici's `request` rather than `fetch`: no Request/Response/Headers objects and no web stream per call, which
     * the benchmark's CPU profile of a convergence put among the operator's largest costs; a watch's body is a
     * Node stream. Unlike fetch it asks for no compression: the API server gzips only large responses (lists), which
     * costs its CPU, the resource a convergence is bound by, to save bytes that on a cluster network a cold start's
     * lists can afford.
     */
    const open = async (request: HttpRequest, signal: AbortSignal): Promise<OpenResponse> => {
      const url = buildUrl(server, request)
      const context = await prepare(request, url, signal)
      const pool = context.getDispatcher()
      if (pool === undefined) {
        const response = await library.send(context).toPromise()
        return {
          status: response.httpStatusCode,
          headers: response.headers,
          text: () => response.body.text(),
          stream: () => response.body.stream(),
        }
      }
      const response = await pool.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: request.method,
        headers: context.getHeaders(),
        body: (context.getBody() as string | undefined) ?? null,
        signal,
      })
      return {
        status: response.statusCode,
        headers: flatHeaders(response.headers),
        text: () => response.body.text(),
        stream: () => response.body,
      }
    }

    const send = async (request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> => {
      const reused = auth !== undefined
      let response = await open(request, signal)
      if (response.status === 401 && reused) {
        // Headers computed before a token rotated: once more with fresh ones, before anyone sees a 401.
        unauthorized(response.status)
        await response.text()
        response = await open(request, signal)
      }
      unauthorized(response.status)
      return { status: response.status, headers: response.headers, body: await response.text() }
    }

    const request = (request: HttpRequest, timeout: Duration.Input) =>
      Effect.tryPromise({
        try: (signal) => send(request, signal),
        catch: Classify.fromException,
      }).pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.fail(
              Classify.fromException(
                new DOMException(
                  `no response within ${Duration.format(Duration.fromInputUnsafe(timeout))}`,
                  "TimeoutError",
                ),
              ),
            ),
        }),
      )

    const stream = (request: HttpRequest, connectTimeout: Duration.Input) =>
      Effect.gen(function* () {
        const controller = yield* Effect.acquireRelease(
          Effect.sync(() => new AbortController()),
          (controller) => Effect.sync(() => controller.abort()),
        )
        const response = yield* Effect.tryPromise({
          try: () => open(request, controller.signal),
          catch: Classify.fromException,
        }).pipe(
          Effect.timeoutOrElse({
            duration: connectTimeout,
            orElse: () =>
              Effect.fail(Classify.fromException(new DOMException("no response headers in time", "TimeoutError"))),
          }),
        )
        if (response.status !== 200) {
          unauthorized(response.status)
          const body = yield* Effect.tryPromise({ try: () => response.text(), catch: Classify.fromException })
          return yield* Effect.fail(Classify.fromResponse({ status: response.status, headers: response.headers, body }))
        }
        const body = response.stream()
        if (body === null) {
          return yield* new Transport({ message: "the watch response has no body", status: 200 })
        }
        return { status: response.status, headers: response.headers, body } satisfies StreamingResponse
      })

    return { server, request, stream } satisfies HttpTransport
  })
