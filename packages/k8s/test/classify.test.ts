import type { AddressInfo } from "node:net"
import { createServer } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { HttpMethod, IsomorphicFetchHttpLibrary, KubeConfig, RequestContext } from "@kubernetes/client-node"
import { Duration, Schema } from "effect"
import * as Classify from "../src/internal/classify.js"
import { K8sError, type K8sErrorReason } from "../src/K8sError.js"

const status = (code: number, reason: string, message = `${reason} happened`, details: object = {}) =>
  JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message, details })

/** How a response with this status code and a Status body (reason, message, details) is classified. */
const fromStatus = (code: number, reason: string, message?: string, details?: object) =>
  Classify.fromResponse({ status: code, body: status(code, reason, message, details) })

const expectReason = (reason: K8sErrorReason, tag: K8sErrorReason["_tag"], retryable: boolean) => {
  assert.strictEqual(reason._tag, tag)
  assert.strictEqual(new K8sError({ reason }).isRetryable, retryable, `${tag} retryable`)
}

describe("classifying HTTP responses", () => {
  it("reads 404 NotFound from the Status body, not retryable", () => {
    const reason = fromStatus(404, "NotFound", 'secrets "x" not found')
    expectReason(reason, "NotFound", false)
    assert.strictEqual(reason.message, 'secrets "x" not found')
    assert.strictEqual(reason.status, 404)
  })

  it("makes a field-manager conflict non-retryable and keeps its causes", () => {
    const reason = fromStatus(409, "Conflict", "Apply failed with 1 conflict", {
      causes: [{ reason: "FieldManagerConflict", message: 'conflict with "other"', field: ".data.x" }],
    })
    expectReason(reason, "Conflict", false)
    assert.strictEqual(reason._tag === "Conflict" && reason.causes[0]?.field, ".data.x")
  })

  it("reads Invalid with its field causes", () => {
    const reason = fromStatus(422, "Invalid", "ConfigMap is invalid", {
      causes: [{ reason: "FieldValueInvalid", message: "Invalid value", field: "metadata.name" }],
    })
    expectReason(reason, "Invalid", false)
    assert.deepStrictEqual(reason._tag === "Invalid" ? reason.causes : [], [
      { reason: "FieldValueInvalid", message: "Invalid value", field: "metadata.name" },
    ])
  })

  /** [the behaviour, the response's status code and body, the reason it becomes, whether that is retryable] */
  const byStatus: ReadonlyArray<readonly [string, number, string, K8sErrorReason["_tag"], boolean]> = [
    ["tells AlreadyExists on a 409 by the Status reason", 409, status(409, "AlreadyExists"), "AlreadyExists", false],
    ["tells Conflict on a 409 by the Status reason, retryable", 409, status(409, "Conflict"), "Conflict", true],
    ...(
      [
        [400, "BadRequest"],
        [405, "MethodNotAllowed"],
        [406, "NotAcceptable"],
        [413, "RequestEntityTooLarge"],
        [415, "UnsupportedMediaType"],
      ] as const
    ).map(
      ([code, reason]) => [`maps ${code} ${reason} to Invalid`, code, status(code, reason), "Invalid", false] as const,
    ),
    ["classifies 401 without a body (the API server sends none) as Unauthorized", 401, "", "Unauthorized", false],
    ["classifies 403 as Forbidden", 403, status(403, "Forbidden"), "Forbidden", false],
    ["treats 410 Gone as Gone, retryable after a relist", 410, status(410, "Gone"), "Gone", true],
    ["treats 410 Expired as Gone, retryable after a relist", 410, status(410, "Expired"), "Gone", true],
    ["classifies a server-side 504 Timeout as Timeout", 504, status(504, "Timeout"), "Timeout", true],
    [
      "classifies a 500 ServerTimeout as Timeout",
      500,
      status(500, "ServerTimeout", "", { retryAfterSeconds: 1 }),
      "Timeout",
      true,
    ],
    ["classifies 408 without a body as Timeout", 408, "", "Timeout", true],
    ["classifies 503 as Unavailable", 503, status(503, "ServiceUnavailable"), "Unavailable", true],
    ["classifies 500 InternalError as Unavailable", 500, status(500, "InternalError"), "Unavailable", true],
    ["classifies 502 with an HTML body as Unavailable", 502, "<html>bad gateway</html>", "Unavailable", true],
    ["falls back to the code when the Status reason is unknown", 404, status(404, "SomethingNew"), "NotFound", false],
    ["falls back to the code when the body is not JSON", 418, "teapot", "Invalid", false],
    ["falls back to Transport for a redirect it does not follow", 302, "", "Transport", true],
  ]

  it.each(byStatus)("%s", (_, code, body, tag, retryable) => {
    expectReason(Classify.fromResponse({ status: code, body }), tag, retryable)
  })

  it("takes Retry-After from the header (seconds) before Status details", () => {
    const reason = Classify.fromResponse({
      status: 429,
      headers: { "Retry-After": "7" },
      body: status(429, "TooManyRequests", "slow down", { retryAfterSeconds: 1 }),
    })
    expectReason(reason, "TooManyRequests", true)
    assert.strictEqual(reason._tag === "TooManyRequests" && reason.retryAfterSeconds, 7)
    assert.strictEqual(new K8sError({ reason }).retryAfter?.pipe(Duration.toSeconds), 7)
  })

  it("reads Retry-After as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z")
    const reason = Classify.fromResponse({
      status: 429,
      headers: { "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" },
      body: "",
      nowMillis: now,
    })
    assert.strictEqual(reason._tag === "TooManyRequests" && reason.retryAfterSeconds, 30)
  })

  it("falls back to Status details.retryAfterSeconds", () => {
    const reason = fromStatus(429, "TooManyRequests", "slow down", { retryAfterSeconds: 3 })
    assert.strictEqual(reason._tag === "TooManyRequests" && reason.retryAfterSeconds, 3)
  })
})

describe("classifying watch ERROR events", () => {
  it("maps a 410 Expired Status object to Gone", () => {
    const parsed = Classify.statusFromObject({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message: "too old resource version: 1 (200)",
      reason: "Expired",
      code: 410,
    })
    assert.isDefined(parsed)
    if (parsed !== undefined) expectReason(Classify.fromStatus(parsed), "Gone", true)
  })

  it("does not mistake an ordinary object for a Status", () => {
    assert.isUndefined(Classify.statusFromObject({ kind: "ConfigMap", code: 410 }))
  })
})

describe("classifying thrown values", () => {
  it("maps a DOMException TimeoutError (our deadlines) to Timeout", () => {
    expectReason(Classify.fromException(new DOMException("timed out", "TimeoutError")), "Timeout", true)
  })

  const closedPort = async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as AddressInfo
    await new Promise<void>((resolve) => server.close(() => resolve()))
    return port
  }
  const rejection = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    )

  it("maps a real connection refusal to a retryable Transport with its code, from fetch (watches)", async () => {
    // A loopback port nobody listens on, requested through client-node's own fetch stack (the one watches use).
    const port = await closedPort()
    const error = await rejection(
      new IsomorphicFetchHttpLibrary()
        .send(new RequestContext(`http://127.0.0.1:${port}/api`, HttpMethod.GET))
        .toPromise(),
    )
    const reason = Classify.fromException(error)
    expectReason(reason, "Transport", true)
    assert.strictEqual(reason._tag === "Transport" && reason.code, "ECONNREFUSED")
    assert.include(reason.message, "fetch failed")
  })

  /** The undici Agent client-node hands the transport for a cluster with TLS settings (here: skip verification). */
  const clientNodeAgent = async () => {
    const kubeConfig = new KubeConfig()
    kubeConfig.loadFromClusterAndUser({ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }, { name: "u" })
    const context = new RequestContext("https://127.0.0.1:1/api", HttpMethod.GET)
    await kubeConfig.applySecurityAuthentication(context)
    const agent = context.getDispatcher()
    if (agent === undefined) throw new Error("client-node gave no dispatcher")
    return agent
  }

  it("maps undici request's own errors (other requests): a refusal and a connection closed mid-answer", async () => {
    const agent = await clientNodeAgent()
    try {
      const port = await closedPort()
      const refused = Classify.fromException(
        await rejection(agent.request({ origin: `http://127.0.0.1:${port}`, path: "/api", method: "GET" })),
      )
      expectReason(refused, "Transport", true)
      assert.strictEqual(refused._tag === "Transport" && refused.code, "ECONNREFUSED")

      // A server that reads the request and hangs up without an answer.
      const server = createServer((socket) => socket.once("data", () => socket.destroy()))
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const { port: closing } = server.address() as AddressInfo
      const closed = Classify.fromException(
        await rejection(agent.request({ origin: `http://127.0.0.1:${closing}`, path: "/api", method: "GET" })),
      )
      await new Promise<void>((resolve) => server.close(() => resolve()))
      expectReason(closed, "Transport", true)
      assert.strictEqual(closed._tag === "Transport" && closed.code, "UND_ERR_SOCKET")
    } finally {
      await agent.close()
    }
  })

  it("follows nested causes and AggregateErrors to the socket error code", () => {
    const socket = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" })
    const nested = new TypeError("fetch failed", { cause: socket })
    const reason = Classify.fromException(nested)
    assert.strictEqual(reason._tag === "Transport" && reason.code, "UND_ERR_SOCKET")
    const aggregate = new TypeError("fetch failed", {
      cause: new AggregateError([Object.assign(new Error("connect"), { code: "ECONNRESET" })]),
    })
    const fromAggregate = Classify.fromException(aggregate)
    assert.strictEqual(fromAggregate._tag === "Transport" && fromAggregate.code, "ECONNRESET")
  })

  it("maps undici timeouts to Timeout", () => {
    const error = new TypeError("fetch failed", {
      cause: Object.assign(new Error("Headers Timeout Error"), { code: "UND_ERR_HEADERS_TIMEOUT" }),
    })
    expectReason(Classify.fromException(error), "Timeout", true)
  })

  it("makes TLS verification failures non-retryable", () => {
    const error = new TypeError("fetch failed", {
      cause: Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }),
    })
    expectReason(Classify.fromException(error), "Transport", false)
  })

  it("maps a JSON SyntaxError to Decode", () => {
    const error = new SyntaxError("Unexpected token < in JSON")
    expectReason(Classify.fromException(error), "Decode", false)
  })

  it("keeps anything unrecognised as a Transport failure with the original cause", () => {
    const reason = Classify.fromException("something odd")
    expectReason(reason, "Transport", true)
    assert.strictEqual(reason.message, "something odd")
  })
})

describe("K8sError", () => {
  it("names the operation and reason in its message and delegates isRetryable", () => {
    const error = new K8sError({
      reason: fromStatus(404, "NotFound", 'secrets "x" not found'),
      operation: "get v1 Secret ns/x",
    })
    assert.strictEqual(error.message, 'get v1 Secret ns/x: NotFound: secrets "x" not found')
    assert.isFalse(error.isRetryable)
  })

  it("encodes to JSON and back (it can be logged and shipped)", () => {
    const error = new K8sError({
      reason: fromStatus(422, "Invalid", "bad", { causes: [{ field: "spec.x", message: "nope" }] }),
      operation: "apply",
    })
    const encoded = Schema.encodeUnknownSync(K8sError)(error)
    const decoded = Schema.decodeUnknownSync(K8sError)(JSON.parse(JSON.stringify(encoded)))
    assert.strictEqual(decoded.reason._tag, "Invalid")
    assert.strictEqual(decoded.message, error.message)
    assert.isFalse(decoded.isRetryable)
  })
})
