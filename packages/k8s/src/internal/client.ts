/**
 * The implementation of `KubeClient` (the public face, with the options and their defaults, is `../KubeClient.ts`):
 * every operation is a REST request built from a kind descriptor, sent through `http.ts`, its failure classified
 * once (`classify.ts`) and named after the operation for logs and spans.
 */
import type { KubeConfig } from "@kubernetes/client-node"
import { Duration, Effect, Option, Result, Schema, type Scope, Stream } from "effect"
import { Decode, K8sError, type K8sErrorReason, Timeout } from "../K8sError.js"
import type { Access, ResourceKind } from "../Kinds.js"
import type {
  ApplyOptions,
  DeleteOptions,
  KubeClientShape,
  ListOptions,
  ListResult,
  RawWatchEvent,
  WatchRequest,
  WriteOptions,
} from "../KubeClient.js"
import { type KubeObject, ListEnvelope, type Live, type ObjectRef } from "../KubeObject.js"
import * as Classify from "./classify.js"
import * as Http from "./http.js"
import {
  checkRef,
  collectionPath,
  describe,
  forApply,
  objectPath,
  refForLog,
  refOf,
  toLive,
  withType,
} from "./objects.js"

/** How often a list restarts when its continue token expires mid-way (410) before it gives up. */
const maxListRestarts = 3
/** Our own deadline trails the server's by this much: it only catches a connection that went silent. */
const clientDeadlineGraceMillis = 5_000

const decodeListEnvelope = Schema.decodeUnknownResult(ListEnvelope)

const dryRunQuery = (dryRun: boolean | undefined) => (dryRun === true ? { dryRun: "All" } : {})

/** Names a request's failure after the operation, and traces it as a span carrying that name. */
const operation = <A>(span: string, name: string, effect: Effect.Effect<A, K8sErrorReason>) =>
  effect.pipe(
    Effect.mapError((reason) => new K8sError({ reason, operation: name })),
    // No stack trace per request: the span's name and the operation say where it comes from.
    Effect.withSpan(span, { attributes: { "k8s.operation": name } }, { captureStackTrace: false }),
  )

/** One line of a watch response: the events it carries (none for a blank or skipped line), or the failure. */
const parseWatchLine = <A extends KubeObject, X extends Access>(
  kind: ResourceKind<A, X>,
  line: string,
): Effect.Effect<ReadonlyArray<RawWatchEvent<A>>, K8sErrorReason> =>
  Effect.gen(function* () {
    if (line.trim() === "") return []
    const parsed = Classify.parseJson(line)
    if (Result.isFailure(parsed)) {
      yield* Effect.logWarning("skipping a watch line that is not JSON", { kind: kind.kind, line: line.slice(0, 200) })
      return []
    }
    const event = parsed.success
    const type = typeof event === "object" && event !== null ? Reflect.get(event, "type") : undefined
    const object: unknown = typeof event === "object" && event !== null ? Reflect.get(event, "object") : undefined
    if (type === "ERROR") {
      const status = Classify.statusFromObject(object)
      return yield* Effect.fail(
        status === undefined
          ? Classify.fromCode(undefined, "watch ERROR event without a Status")
          : Classify.fromStatus(status),
      )
    }
    if (type === "BOOKMARK") {
      const metadata = typeof object === "object" && object !== null ? Reflect.get(object, "metadata") : undefined
      const resourceVersion =
        typeof metadata === "object" && metadata !== null ? Reflect.get(metadata, "resourceVersion") : undefined
      if (typeof resourceVersion !== "string") {
        yield* Effect.logWarning("skipping a BOOKMARK without a resourceVersion", { kind: kind.kind })
        return []
      }
      return [{ type: "BOOKMARK", resourceVersion }]
    }
    if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") {
      yield* Effect.logWarning("skipping a watch event of unknown type", { kind: kind.kind, type: String(type) })
      return []
    }
    const live = toLive(kind, object)
    if (Result.isFailure(live)) {
      yield* Effect.logWarning("skipping a watch event whose object has no valid envelope", {
        kind: kind.kind,
        error: live.failure.message,
      })
      return []
    }
    return [{ type, object: live.success }]
  })

/** The client's settings, every default filled in (by the public face, which states them). */
export interface Settings {
  readonly fieldManager: string
  readonly userAgent: string
  readonly requestTimeout: Duration.Input
  readonly pageSize: number
  readonly inactivityTimeout: Duration.Input
  readonly propagationPolicy: NonNullable<DeleteOptions["propagationPolicy"]>
  readonly credentialsReuse: Duration.Input
}

/** Builds the client for one kubeconfig. Scoped: the connection pool closes with the scope. */
export const make = (
  kubeConfig: KubeConfig,
  settings: Settings,
): Effect.Effect<KubeClientShape, K8sError, Scope.Scope> =>
  Effect.gen(function* () {
    const transport = yield* Http.make(kubeConfig, {
      userAgent: settings.userAgent,
      credentialsReuse: settings.credentialsReuse,
    }).pipe(Effect.mapError((reason) => new K8sError({ reason, operation: "connect" })))
    const requestTimeout = settings.requestTimeout
    const fieldManagerOf = (override: string | undefined) => override ?? settings.fieldManager
    const requestTimeoutMillis = Duration.toMillis(Duration.fromInputUnsafe(requestTimeout))
    // Go duration syntax, in microseconds so that sub-millisecond deadlines (tests) survive.
    const serverTimeout = `${Math.max(1, Math.round(requestTimeoutMillis * 1000))}us`
    // The server gets the deadline too (`?timeout=`, as client-go sends it) and answers 504 when it passes.
    const clientDeadline = Duration.millis(requestTimeoutMillis + clientDeadlineGraceMillis)

    /** Sends a request; a 2xx JSON body is returned parsed, anything else is classified. */
    const call = (request: Http.HttpRequest): Effect.Effect<unknown, K8sErrorReason> =>
      transport.request({ ...request, query: { ...request.query, timeout: serverTimeout } }, clientDeadline).pipe(
        Effect.flatMap((response) => {
          if (response.status < 200 || response.status >= 300) return Effect.fail(Classify.fromResponse(response))
          const parsed = Classify.parseJson(response.body)
          return Result.isSuccess(parsed)
            ? Effect.succeed(parsed.success)
            : Effect.fail(
                new Decode({ message: `response is not JSON: ${parsed.failure.message}`, status: response.status }),
              )
        }),
      )

    /** A request answered by one object; a write's answer is checked as a dry run's when it asked for one. */
    const callObject = <A extends KubeObject, X extends Access>(kind: ResourceKind<A, X>, request: Http.HttpRequest) =>
      call(request).pipe(
        Effect.flatMap((body) => Effect.fromResult(toLive(kind, body, request.query?.dryRun === "All"))),
      )

    const get = <A extends KubeObject, X extends Access>(kind: ResourceKind<A, X>, ref: ObjectRef) =>
      operation(
        "KubeClient.get",
        `get ${describe(kind, ref)}`,
        Effect.fromResult(checkRef(kind, ref)).pipe(
          Effect.flatMap((ref) => callObject(kind, { method: "GET", path: objectPath(kind, ref) })),
        ),
      )

    const listOnce = <A extends KubeObject, X extends Access>(kind: ResourceKind<A, X>, options: ListOptions) =>
      Effect.gen(function* () {
        const items: Array<Live<A>> = []
        let continueToken: string | undefined
        let resourceVersion = ""
        do {
          const body = yield* call({
            method: "GET",
            path: collectionPath(kind, options.namespace),
            query: {
              limit: String(options.pageSize ?? settings.pageSize),
              continue: continueToken,
              labelSelector: options.labelSelector,
              fieldSelector: options.fieldSelector,
            },
          })
          const envelope = decodeListEnvelope(body)
          if (Result.isFailure(envelope)) {
            return yield* new Decode({ message: `not a ${kind.kind} list: ${envelope.failure.message}` })
          }
          for (const item of envelope.success.items) items.push(yield* Effect.fromResult(toLive(kind, item)))
          // The first page's resourceVersion is the snapshot every later page belongs to.
          if (continueToken === undefined) resourceVersion = envelope.success.metadata.resourceVersion
          const next = envelope.success.metadata.continue
          continueToken = next === undefined || next === "" ? undefined : next
        } while (continueToken !== undefined)
        return { items, resourceVersion } satisfies ListResult<A>
      })

    const list = <A extends KubeObject, X extends Access>(kind: ResourceKind<A, X>, options: ListOptions = {}) => {
      // A 410 mid-list means the continue token outlived etcd's history: the snapshot is gone, start over.
      const attempt = (restarts: number): Effect.Effect<ListResult<A>, K8sErrorReason> =>
        listOnce(kind, options).pipe(
          Effect.catchTag("Gone", (gone) => (restarts < maxListRestarts ? attempt(restarts + 1) : Effect.fail(gone))),
        )
      const where = options.namespace === undefined ? "" : ` in ${options.namespace}`
      return operation("KubeClient.list", `list ${describe(kind)}${where}`, attempt(0))
    }

    /** Server-side apply to the object or one of its subresources. */
    const applyTo =
      (subresource: "status" | undefined, verb: string) =>
      <A extends KubeObject>(kind: ResourceKind<A, "ReadWrite">, object: A, options: ApplyOptions = {}) =>
        operation(
          `KubeClient.${subresource === undefined ? "apply" : "applyStatus"}`,
          `${verb} ${describe(kind, refForLog(object))}`,
          Effect.fromResult(refOf(kind, object)).pipe(
            Effect.flatMap((ref) =>
              callObject(kind, {
                method: "PATCH",
                path: objectPath(kind, ref, subresource),
                query: {
                  fieldManager: fieldManagerOf(options.fieldManager),
                  force: options.force === false ? "false" : "true",
                  ...dryRunQuery(options.dryRun),
                },
                body: forApply(kind, object),
                contentType: "application/apply-patch+yaml",
              }),
            ),
          ),
        )

    /** A plain write of the whole object: `POST` to the collection (create) or `PUT` to the object (replace). */
    const write =
      (method: "POST" | "PUT", verb: "create" | "replace") =>
      <A extends KubeObject>(kind: ResourceKind<A, "ReadWrite">, object: A, options: WriteOptions = {}) =>
        operation(
          `KubeClient.${verb}`,
          `${verb} ${describe(kind, refForLog(object))}`,
          Effect.fromResult(refOf(kind, object)).pipe(
            Effect.flatMap((ref) =>
              callObject(kind, {
                method,
                path: method === "POST" ? collectionPath(kind, ref.namespace) : objectPath(kind, ref),
                query: { fieldManager: fieldManagerOf(options.fieldManager), ...dryRunQuery(options.dryRun) },
                body: withType(kind, object),
              }),
            ),
          ),
        )

    const remove = <A extends KubeObject>(
      kind: ResourceKind<A, "ReadWrite">,
      ref: ObjectRef,
      options: DeleteOptions = {},
    ) => {
      const preconditions = options.preconditions
      const body = {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: options.propagationPolicy ?? settings.propagationPolicy,
        ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
        ...(preconditions === undefined
          ? {}
          : {
              preconditions: {
                ...(preconditions.uid === undefined ? {} : { uid: preconditions.uid }),
                ...(preconditions.resourceVersion === undefined
                  ? {}
                  : { resourceVersion: preconditions.resourceVersion }),
              },
            }),
        ...(options.dryRun === true ? { dryRun: ["All"] } : {}),
      }
      return operation(
        "KubeClient.delete",
        `delete ${describe(kind, ref)}`,
        Effect.fromResult(checkRef(kind, ref)).pipe(
          Effect.flatMap((ref) => call({ method: "DELETE", path: objectPath(kind, ref), body })),
          Effect.flatMap((response) =>
            typeof response === "object" && response !== null && Reflect.get(response, "kind") === "Status"
              ? Effect.succeed(Option.none<Live<A>>())
              : Effect.fromResult(toLive(kind, response, options.dryRun === true)).pipe(Effect.map(Option.some)),
          ),
        ),
      )
    }

    const watchOnce = <A extends KubeObject, X extends Access>(
      kind: ResourceKind<A, X>,
      request: WatchRequest = {},
    ): Stream.Stream<RawWatchEvent<A>, K8sError> => {
      const name = `watch ${describe(kind)}${request.namespace === undefined ? "" : ` in ${request.namespace}`}`
      const inactivity = request.inactivityTimeout ?? settings.inactivityTimeout
      return Stream.unwrap(
        Effect.gen(function* () {
          const response = yield* transport.stream(
            {
              method: "GET",
              path: collectionPath(kind, request.namespace),
              query: {
                watch: "true",
                allowWatchBookmarks: request.allowWatchBookmarks === false ? "false" : "true",
                resourceVersion: request.resourceVersion,
                timeoutSeconds: request.timeoutSeconds === undefined ? undefined : String(request.timeoutSeconds),
                labelSelector: request.labelSelector,
                fieldSelector: request.fieldSelector,
              },
            },
            requestTimeout,
          )
          return Stream.fromAsyncIterable(response.body, Classify.fromException).pipe(
            Stream.timeoutOrElse({
              duration: inactivity,
              orElse: () =>
                Stream.fail(
                  new Timeout({
                    message: `watch silent for ${Duration.format(Duration.fromInputUnsafe(inactivity))}`,
                    silent: true,
                  }),
                ),
            }),
            Stream.decodeText,
            Stream.splitLines,
            Stream.mapEffect((line) => parseWatchLine(kind, line)),
            Stream.flattenIterable,
          )
        }),
      ).pipe(Stream.mapError((reason) => new K8sError({ reason, operation: name })))
    }

    return {
      get,
      list,
      apply: applyTo(undefined, "apply"),
      applyStatus: applyTo("status", "apply status"),
      create: write("POST", "create"),
      replace: write("PUT", "replace"),
      delete: remove,
      watchOnce,
    } satisfies KubeClientShape
  })
