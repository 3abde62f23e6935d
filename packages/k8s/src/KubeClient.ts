/**
 * The typed Kubernetes client: get, list (all pages), server-side apply (object and `/status`), create, replace,
 * delete, and one raw watch connection — over the API's REST paths, driven by the kind descriptors in `Kinds.ts`.
 *
 * Requests are not retried here: a failure is returned as a `K8sError` whose `isRetryable` tells the caller (the
 * engine's work queue, the watch loop, the leader elector) whether to try again, so retry policy lives in one
 * place per caller instead of being stacked.
 */
import type { KubeConfig } from "@kubernetes/client-node"
import { type Config, Context, Duration, Effect, Layer, Option, Result, Schema, type Scope, Stream } from "effect"
import * as Classify from "./internal/classify.js"
import * as Http from "./internal/http.js"
import * as KubeConfigLoader from "./internal/kubeconfig.js"
import { Decode, Invalid, K8sError, type K8sErrorReason, Timeout } from "./K8sError.js"
import type { Access, ResourceKind } from "./Kinds.js"
import { envelopeProblem, type KubeObject, ListEnvelope, type Live, type ObjectRef } from "./KubeObject.js"

export { KubeConfigError } from "./internal/kubeconfig.js"

/** Client-wide settings. */
export interface KubeClientOptions {
  /** Field manager for writes that do not name one. Default `"cartographer"`. */
  readonly fieldManager?: string | undefined
  /**
   * Deadline for every non-watch request, sent to the server as `?timeout=` (504 `Timeout` when it passes) and
   * enforced locally 5 s later; also bounds the wait for a watch's response headers. Default 30 seconds.
   */
  readonly requestTimeout?: Duration.Input | undefined
  /** `User-Agent` header. Default `"cartographer"`. */
  readonly userAgent?: string | undefined
}

export interface ListOptions {
  /** Namespace to list in. Default: all namespaces (namespaced kinds). */
  readonly namespace?: string | undefined
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  /** Objects per page (`limit`). Default 500 (client-go's pager). */
  readonly pageSize?: number | undefined
}

export interface ListResult<A extends KubeObject> {
  readonly items: ReadonlyArray<Live<A>>
  /** The list's resourceVersion: a watch started from it misses nothing. Opaque: compare only for equality. */
  readonly resourceVersion: string
}

export interface ApplyOptions {
  /** Default: the client's `fieldManager` (`"cartographer"`). */
  readonly fieldManager?: string | undefined
  /** Take ownership of fields other managers own. Default `true`: a controller always forces what it owns. */
  readonly force?: boolean | undefined
  /**
   * Server-side dry run (`dryRun=All`): validated, defaulted, admitted, not persisted. Default `false`. The answer is
   * the object as it would be; for a would-be create its uid and resourceVersion are `""`.
   */
  readonly dryRun?: boolean | undefined
}

export interface WriteOptions {
  /** Default: the client's `fieldManager`. */
  readonly fieldManager?: string | undefined
  /** Default `false`. */
  readonly dryRun?: boolean | undefined
}

export interface DeleteOptions {
  /** Default `"Background"` (the API's default for most kinds; explicit so Jobs do not orphan their Pods). */
  readonly propagationPolicy?: "Foreground" | "Background" | "Orphan" | undefined
  /** Delete only if the live object still has this uid / resourceVersion (409 `Conflict` otherwise). */
  readonly preconditions?:
    | { readonly uid?: string | undefined; readonly resourceVersion?: string | undefined }
    | undefined
  /** Default: the object's own grace period. */
  readonly gracePeriodSeconds?: number | undefined
  /** Default `false`. */
  readonly dryRun?: boolean | undefined
}

/** One watch connection's parameters (see `Watch.watch` for the resilient stream built on it). */
export interface WatchRequest {
  /** Default: all namespaces. */
  readonly namespace?: string | undefined
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  /** Start after this resourceVersion. Default: unset (the server picks "now" and sends synthetic ADDEDs). */
  readonly resourceVersion?: string | undefined
  /** Server-side deadline of the connection. Default: the server's (`--min-request-timeout`, randomised). */
  readonly timeoutSeconds?: number | undefined
  /** Default `true`. */
  readonly allowWatchBookmarks?: boolean | undefined
  /** Fail with `Timeout` when no byte arrives for this long (half-open TCP). Default 70 seconds (kopf). */
  readonly inactivityTimeout?: Duration.Input | undefined
}

/** One event of a raw watch connection. `ERROR` events are not events: they fail the stream. */
export type RawWatchEvent<A extends KubeObject = KubeObject> =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: Live<A> }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string }

export interface KubeClientShape {
  readonly get: <A extends KubeObject, X extends Access>(
    kind: ResourceKind<A, X>,
    ref: ObjectRef,
  ) => Effect.Effect<Live<A>, K8sError>
  /** Lists every page (`limit` + `continue`); an expired continue token restarts the list (up to 3 times). */
  readonly list: <A extends KubeObject, X extends Access>(
    kind: ResourceKind<A, X>,
    options?: ListOptions,
  ) => Effect.Effect<ListResult<A>, K8sError>
  /**
   * Server-side apply (`PATCH`, `application/apply-patch+yaml`). Sends exactly `object` (with `apiVersion`/`kind`
   * filled from the descriptor when missing and `metadata.managedFields` dropped): build it from desired state,
   * never from a read. A `metadata.resourceVersion` in it acts as an optimistic-concurrency precondition.
   */
  readonly apply: <A extends KubeObject>(
    kind: ResourceKind<A, "ReadWrite">,
    object: A,
    options?: ApplyOptions,
  ) => Effect.Effect<Live<A>, K8sError>
  /** Server-side apply to the `/status` subresource; send `apiVersion`, `kind`, `metadata.name/namespace`, `status`. */
  readonly applyStatus: <A extends KubeObject>(
    kind: ResourceKind<A, "ReadWrite">,
    object: A,
    options?: ApplyOptions,
  ) => Effect.Effect<Live<A>, K8sError>
  /** `POST`: fails with `AlreadyExists` when the name is taken. */
  readonly create: <A extends KubeObject>(
    kind: ResourceKind<A, "ReadWrite">,
    object: A,
    options?: WriteOptions,
  ) => Effect.Effect<Live<A>, K8sError>
  /** `PUT`: a full update guarded by `metadata.resourceVersion` (409 `Conflict` when stale). */
  readonly replace: <A extends KubeObject>(
    kind: ResourceKind<A, "ReadWrite">,
    object: A,
    options?: WriteOptions,
  ) => Effect.Effect<Live<A>, K8sError>
  /**
   * Deletes an object. Succeeds with the object when the server returns it — it is still there, terminating
   * (finalizers, foreground deletion) or, with `dryRun`, would be deleted — and `None` when it answers with a
   * `Status` (gone). A missing object fails with `NotFound`.
   */
  readonly delete: <A extends KubeObject>(
    kind: ResourceKind<A, "ReadWrite">,
    ref: ObjectRef,
    options?: DeleteOptions,
  ) => Effect.Effect<Option.Option<Live<A>>, K8sError>
  /**
   * One watch connection. Ends when the server closes it; fails on HTTP errors, on an `ERROR` event (410 → `Gone`),
   * and after `inactivityTimeout` of silence (`Timeout`). Lines that are not JSON or objects without a valid
   * envelope are logged and skipped.
   */
  readonly watchOnce: <A extends KubeObject, X extends Access>(
    kind: ResourceKind<A, X>,
    request?: WatchRequest,
  ) => Stream.Stream<RawWatchEvent<A>, K8sError>
}

const defaultFieldManager = "cartographer"
const defaultRequestTimeout: Duration.Input = "30 seconds"
const defaultPageSize = 500
const defaultInactivityTimeout: Duration.Input = "70 seconds"
const maxListRestarts = 3
const clientDeadlineGraceMillis = 5_000

const encode = encodeURIComponent

/** `/api/v1[/namespaces/ns]/plural` or `/apis/group/version[/namespaces/ns]/plural`. */
export const collectionPath = (kind: ResourceKind<KubeObject, Access>, namespace?: string | undefined): string => {
  const root = kind.group === "" ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`
  const scope = kind.namespaced && namespace !== undefined && namespace !== "" ? `/namespaces/${encode(namespace)}` : ""
  return `${root}${scope}/${kind.plural}`
}

const describe = (kind: ResourceKind<KubeObject, Access>, ref?: ObjectRef): string => {
  const base = `${kind.apiVersion} ${kind.kind}`
  if (ref === undefined) return base
  return kind.namespaced ? `${base} ${ref.namespace ?? "?"}/${ref.name}` : `${base} ${ref.name}`
}

const refForLog = (object: KubeObject): ObjectRef | undefined =>
  object.metadata?.name === undefined ? undefined : { name: object.metadata.name, namespace: object.metadata.namespace }

const decodeListEnvelope = Schema.decodeUnknownResult(ListEnvelope)

/**
 * Checks the envelope of an object read from the server and fills `apiVersion`/`kind` (list items omit them).
 * `dryRun`: the answer to a dry-run write, where a would-be create has no uid/resourceVersion; they become `""`.
 */
export const toLive = (
  kind: ResourceKind<KubeObject, Access>,
  value: unknown,
  dryRun = false,
): Result.Result<Live<KubeObject>, K8sErrorReason> => {
  const problem = envelopeProblem(value, dryRun)
  if (problem !== undefined) return Result.fail(new Decode({ message: `not a ${kind.kind}: ${problem}` }))
  let object = value as Live<KubeObject>
  if (object.metadata.uid === undefined || object.metadata.resourceVersion === undefined) {
    const { uid, resourceVersion } = object.metadata as Partial<Live["metadata"]>
    object = { ...object, metadata: { ...object.metadata, uid: uid ?? "", resourceVersion: resourceVersion ?? "" } }
  }
  return Result.succeed(
    object.apiVersion === undefined || object.kind === undefined
      ? { ...object, apiVersion: kind.apiVersion, kind: kind.kind }
      : object,
  )
}

/** Validates the name/namespace of an object about to be written, client-side. */
const refOf = (
  kind: ResourceKind<KubeObject, Access>,
  object: KubeObject,
): Result.Result<ObjectRef, K8sErrorReason> => {
  const name = object.metadata?.name
  if (name === undefined || name === "") {
    return Result.fail(new Invalid({ message: "metadata.name is required", causes: [{ field: "metadata.name" }] }))
  }
  const namespace = object.metadata?.namespace
  if (kind.namespaced && (namespace === undefined || namespace === "")) {
    return Result.fail(
      new Invalid({
        message: `${kind.kind} is namespaced: metadata.namespace is required`,
        causes: [{ field: "metadata.namespace" }],
      }),
    )
  }
  return Result.succeed(kind.namespaced ? { name, namespace } : { name })
}

const checkRef = (kind: ResourceKind<KubeObject, Access>, ref: ObjectRef): Result.Result<ObjectRef, K8sErrorReason> =>
  kind.namespaced && (ref.namespace === undefined || ref.namespace === "")
    ? Result.fail(new Invalid({ message: `${kind.kind} is namespaced: a namespace is required`, causes: [] }))
    : Result.succeed(ref)

const objectPath = (kind: ResourceKind<KubeObject, Access>, ref: ObjectRef, subresource?: string): string =>
  `${collectionPath(kind, ref.namespace)}/${encode(ref.name)}${subresource === undefined ? "" : `/${subresource}`}`

/** Drops fields only the server may set and that would make an apply fail or claim nothing useful. */
const forApply = (kind: ResourceKind<KubeObject, Access>, object: KubeObject): KubeObject => {
  const { managedFields: _managedFields, ...metadata } = object.metadata ?? {}
  return {
    ...object,
    apiVersion: object.apiVersion ?? kind.apiVersion,
    kind: object.kind ?? kind.kind,
    metadata,
  }
}

const dryRunQuery = (dryRun: boolean | undefined) => (dryRun === true ? { dryRun: "All" } : {})

/** Builds the client for one kubeconfig. Scoped: the connection pool closes with the scope. */
export const make = (
  kubeConfig: KubeConfig,
  options: KubeClientOptions = {},
): Effect.Effect<KubeClientShape, K8sError, Scope.Scope> =>
  Effect.gen(function* () {
    const transport = yield* Http.make(kubeConfig, { userAgent: options.userAgent ?? "cartographer" }).pipe(
      Effect.mapError((reason) => new K8sError({ reason, operation: "connect" })),
    )
    const requestTimeout = options.requestTimeout ?? defaultRequestTimeout
    const fieldManagerOf = (override: string | undefined) => override ?? options.fieldManager ?? defaultFieldManager

    const requestTimeoutMillis = Duration.toMillis(Duration.fromInputUnsafe(requestTimeout))
    // Go duration syntax, in microseconds so that sub-millisecond deadlines (tests) survive.
    const serverTimeout = `${Math.max(1, Math.round(requestTimeoutMillis * 1000))}us`
    /**
     * The server gets the deadline too (`?timeout=`, as client-go sends it) and answers 504 when it passes; our own
     * deadline, a little later, only catches a connection that went silent.
     */
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

    /** A write's answer is checked as a dry run's when the request asked for one (`dryRunQuery`). */
    const callObject = (kind: ResourceKind<KubeObject, Access>, request: Http.HttpRequest) =>
      call(request).pipe(
        Effect.flatMap((body) => Effect.fromResult(toLive(kind, body, request.query?.dryRun === "All"))),
      )

    const fail = (operation: string) => (reason: K8sErrorReason) => new K8sError({ reason, operation })

    const get = Effect.fn("KubeClient.get")(function* (kind: ResourceKind<KubeObject, Access>, ref: ObjectRef) {
      const operation = `get ${describe(kind, ref)}`
      yield* Effect.annotateCurrentSpan("k8s.operation", operation)
      return yield* Effect.fromResult(checkRef(kind, ref)).pipe(
        Effect.flatMap((ref) => callObject(kind, { method: "GET", path: objectPath(kind, ref) })),
        Effect.mapError(fail(operation)),
      )
    })

    const listOnce = (kind: ResourceKind<KubeObject, Access>, options: ListOptions) =>
      Effect.gen(function* () {
        const items: Array<Live<KubeObject>> = []
        let continueToken: string | undefined
        let resourceVersion = ""
        do {
          const body = yield* call({
            method: "GET",
            path: collectionPath(kind, options.namespace),
            query: {
              limit: String(options.pageSize ?? defaultPageSize),
              continue: continueToken,
              labelSelector: options.labelSelector,
              fieldSelector: options.fieldSelector,
            },
          })
          const envelope = decodeListEnvelope(body)
          if (Result.isFailure(envelope)) {
            return yield* new Decode({ message: `not a ${kind.kind} list: ${envelope.failure.message}` })
          }
          for (const item of envelope.success.items) {
            items.push(yield* Effect.fromResult(toLive(kind, item)))
          }
          // The first page's resourceVersion is the snapshot every later page belongs to.
          if (continueToken === undefined) resourceVersion = envelope.success.metadata.resourceVersion
          const next = envelope.success.metadata.continue
          continueToken = next === undefined || next === "" ? undefined : next
        } while (continueToken !== undefined)
        return { items, resourceVersion }
      })

    const list = Effect.fn("KubeClient.list")(function* (
      kind: ResourceKind<KubeObject, Access>,
      options: ListOptions = {},
    ) {
      const operation = `list ${describe(kind)}${options.namespace === undefined ? "" : ` in ${options.namespace}`}`
      yield* Effect.annotateCurrentSpan("k8s.operation", operation)
      let restarts = 0
      // A 410 mid-list means the continue token outlived etcd's history: the snapshot is gone, start over.
      const attempt: Effect.Effect<ListResult<KubeObject>, K8sErrorReason> = listOnce(kind, options).pipe(
        Effect.catchTag("Gone", (gone) => (restarts++ < maxListRestarts ? attempt : Effect.fail(gone))),
      )
      return yield* attempt.pipe(Effect.mapError(fail(operation)))
    })

    const applyTo = (subresource: "status" | undefined) =>
      Effect.fnUntraced(function* (
        kind: ResourceKind<KubeObject, Access>,
        object: KubeObject,
        options: ApplyOptions = {},
      ) {
        const ref = yield* Effect.fromResult(refOf(kind, object))
        return yield* callObject(kind, {
          method: "PATCH",
          path: objectPath(kind, ref, subresource),
          query: {
            fieldManager: fieldManagerOf(options.fieldManager),
            force: options.force === false ? "false" : "true",
            ...dryRunQuery(options.dryRun),
          },
          body: forApply(kind, object),
          contentType: "application/apply-patch+yaml",
        })
      })

    const apply = Effect.fn("KubeClient.apply")(function* (
      kind: ResourceKind<KubeObject, Access>,
      object: KubeObject,
      options?: ApplyOptions,
    ) {
      const operation = `apply ${describe(kind, refForLog(object))}`
      yield* Effect.annotateCurrentSpan("k8s.operation", operation)
      return yield* applyTo(undefined)(kind, object, options).pipe(Effect.mapError(fail(operation)))
    })

    const applyStatus = Effect.fn("KubeClient.applyStatus")(function* (
      kind: ResourceKind<KubeObject, Access>,
      object: KubeObject,
      options?: ApplyOptions,
    ) {
      const operation = `apply status ${describe(kind, refForLog(object))}`
      yield* Effect.annotateCurrentSpan("k8s.operation", operation)
      return yield* applyTo("status")(kind, object, options).pipe(Effect.mapError(fail(operation)))
    })

    const create = Effect.fn("KubeClient.create")(function* (
      kind: ResourceKind<KubeObject, Access>,
      object: KubeObject,
      options: WriteOptions = {},
    ) {
      const operation = `create ${describe(kind, refForLog(object))}`
      yield* Effect.annotateCurrentSpan("k8s.operation", operation)
      return yield* Effect.fromResult(refOf(kind, object)).pipe(
        Effect.flatMap((ref) =>
          callObject(kind, {
            method: "POST",
            path: collectionPath(kind, ref.namespace),
            query: { fieldManager: fieldManagerOf(options.fieldManager), ...dryRunQuery(options.dryRun) },
            body: { ...object, apiVersion: object.apiVersion ?? kind.apiVersion, kind: object.kind ?? kind.kind },
          }),
        ),
        Effect.mapError(fail(operation)),
      )
    })

    const replace = Effect.fn("KubeClient.replace")(function* (
      kind: ResourceKind<KubeObject, Access>,
      object: KubeObject,
      options: WriteOptions = {},
    ) {
      const operation = `replace ${describe(kind, refForLog(object))}`
      yield* Effect.annotateCurrentSpan("k8s.operation", operation)
      return yield* Effect.fromResult(refOf(kind, object)).pipe(
        Effect.flatMap((ref) =>
          callObject(kind, {
            method: "PUT",
            path: objectPath(kind, ref),
            query: { fieldManager: fieldManagerOf(options.fieldManager), ...dryRunQuery(options.dryRun) },
            body: { ...object, apiVersion: object.apiVersion ?? kind.apiVersion, kind: object.kind ?? kind.kind },
          }),
        ),
        Effect.mapError(fail(operation)),
      )
    })

    const remove = Effect.fn("KubeClient.delete")(function* (
      kind: ResourceKind<KubeObject, Access>,
      ref: ObjectRef,
      options: DeleteOptions = {},
    ) {
      const operation = `delete ${describe(kind, ref)}`
      yield* Effect.annotateCurrentSpan("k8s.operation", operation)
      const preconditions = options.preconditions
      const body = {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: options.propagationPolicy ?? "Background",
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
      return yield* Effect.fromResult(checkRef(kind, ref)).pipe(
        Effect.flatMap((ref) => call({ method: "DELETE", path: objectPath(kind, ref), body })),
        Effect.flatMap((response) =>
          typeof response === "object" && response !== null && Reflect.get(response, "kind") === "Status"
            ? Effect.succeed(Option.none<Live<KubeObject>>())
            : Effect.fromResult(toLive(kind, response, options.dryRun === true)).pipe(Effect.map(Option.some)),
        ),
        Effect.mapError(fail(operation)),
      )
    })

    const parseEvent = (
      kind: ResourceKind<KubeObject, Access>,
      line: string,
    ): Effect.Effect<ReadonlyArray<RawWatchEvent>, K8sErrorReason> =>
      Effect.gen(function* () {
        if (line.trim() === "") return []
        const parsed = Classify.parseJson(line)
        if (Result.isFailure(parsed)) {
          yield* Effect.logWarning("skipping a watch line that is not JSON", {
            kind: kind.kind,
            line: line.slice(0, 200),
          })
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
          return [{ type: "BOOKMARK", resourceVersion } as const]
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

    const watchOnce = (kind: ResourceKind<KubeObject, Access>, request: WatchRequest = {}) => {
      const operation = `watch ${describe(kind)}${request.namespace === undefined ? "" : ` in ${request.namespace}`}`
      const inactivity = request.inactivityTimeout ?? defaultInactivityTimeout
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
                  }),
                ),
            }),
            Stream.decodeText,
            Stream.splitLines,
            Stream.mapEffect((line) => parseEvent(kind, line)),
            Stream.flattenIterable,
          )
        }),
      ).pipe(Stream.mapError(fail(operation)))
    }

    return {
      get: get as KubeClientShape["get"],
      list: list as KubeClientShape["list"],
      apply: apply as KubeClientShape["apply"],
      applyStatus: applyStatus as KubeClientShape["applyStatus"],
      create: create as KubeClientShape["create"],
      replace: replace as KubeClientShape["replace"],
      delete: remove as KubeClientShape["delete"],
      watchOnce: watchOnce as KubeClientShape["watchOnce"],
    } satisfies KubeClientShape
  })

/** The Kubernetes client service. */
export class KubeClient extends Context.Service<KubeClient, KubeClientShape>()("@cartographer/k8s/KubeClient") {
  /** From a client-node `KubeConfig` (e.g. the test harness'). */
  static readonly layer = (kubeConfig: KubeConfig, options?: KubeClientOptions): Layer.Layer<KubeClient, K8sError> =>
    Layer.effect(KubeClient, make(kubeConfig, options))

  /** From kubeconfig file(s); the first file's current context wins. */
  static readonly layerFromFile = (
    path: string | ReadonlyArray<string>,
    options?: KubeClientOptions,
  ): Layer.Layer<KubeClient, K8sError | KubeConfigLoader.KubeConfigError> =>
    Layer.effect(
      KubeClient,
      KubeConfigLoader.fromFiles(typeof path === "string" ? [path] : path).pipe(
        Effect.flatMap((kubeConfig) => make(kubeConfig, options)),
      ),
    )

  /** From the pod's service account. */
  static readonly layerInCluster = (
    options?: KubeClientOptions,
  ): Layer.Layer<KubeClient, K8sError | KubeConfigLoader.KubeConfigError | Config.ConfigError> =>
    Layer.effect(KubeClient, KubeConfigLoader.inCluster.pipe(Effect.flatMap((kubeConfig) => make(kubeConfig, options))))

  /** controller-runtime's order: `KUBECONFIG` (path list), else in-cluster, else `~/.kube/config`. */
  static readonly layerConfig = (
    options?: KubeClientOptions,
  ): Layer.Layer<KubeClient, K8sError | KubeConfigLoader.KubeConfigError | Config.ConfigError> =>
    Layer.effect(
      KubeClient,
      KubeConfigLoader.fromEnvironment.pipe(Effect.flatMap((kubeConfig) => make(kubeConfig, options))),
    )
}
