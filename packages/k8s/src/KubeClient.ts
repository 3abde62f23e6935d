/**
 * The typed Kubernetes client: get, list (all pages), server-side apply (object and `/status`), create, replace,
 * delete, and one raw watch connection — over the API's REST paths, driven by the kind descriptors in `Kinds.ts`.
 * This module is the client's public face (its options with their defaults, the service and its layers); the
 * requests are built in `internal/client.ts`.
 *
 * Requests are not retried here: a failure is returned as a `K8sError` whose `isRetryable` tells the caller (the
 * engine's work queue, the watch loop, the leader elector) whether to try again, so retry policy lives in one
 * place per caller instead of being stacked.
 */
import type { KubeConfig } from "@kubernetes/client-node"
import { type Config, Context, Duration, Effect, Layer, type Option, type Scope, type Stream } from "effect"
import { make as makeClient } from "./internal/client.js"
import * as KubeConfigLoader from "./internal/kubeconfig.js"
import type { K8sError } from "./K8sError.js"
import type { Access, ResourceKind } from "./Kinds.js"
import type { KubeObject, Live, ObjectRef } from "./KubeObject.js"

export { KubeConfigError } from "./internal/kubeconfig.js"

/** The defaults of the client's options, each stated once. */
export const defaults = {
  /** Field manager of writes that do not name one: the operator's, so that what it applies is owned under it. */
  fieldManager: "cartographer",
  userAgent: "cartographer",
  requestTimeout: Duration.seconds(30),
  /** Objects per list page (client-go's pager). */
  pageSize: 500,
  /** A watch silent this long is abandoned (kopf's watchdog): longer than the server's bookmark interval. */
  inactivityTimeout: Duration.seconds(70),
  /** The API's default for most kinds, explicit so that Jobs do not orphan their Pods. */
  propagationPolicy: "Background",
  /**
   * How long authentication headers are reused before client-node computes them again (it reads certificate files
   * and builds a connection pool each time); client-node re-reads a token file once a minute anyway.
   */
  credentialsReuse: Duration.seconds(10),
} as const

/** Client-wide settings. */
export interface KubeClientOptions {
  /** Field manager for writes that do not name one. Default `defaults.fieldManager` (`"cartographer"`). */
  readonly fieldManager?: string | undefined
  /**
   * Deadline for every non-watch request, sent to the server as `?timeout=` (504 `Timeout` when it passes) and
   * enforced locally a little later; also bounds the wait for a watch's response headers. Default 30 seconds.
   */
  readonly requestTimeout?: Duration.Input | undefined
  /** `User-Agent` header. Default `"cartographer"`. */
  readonly userAgent?: string | undefined
  /**
   * How long authentication headers are reused; a 401 drops them, and a request rejected with reused ones is sent
   * once more with fresh ones. Default 10 seconds.
   */
  readonly credentialsReuse?: Duration.Input | undefined
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
  /** Default: the client's `fieldManager`. */
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
  /** Default `"Background"` (`defaults.propagationPolicy`). */
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

/** A write of one whole object (apply, create, replace): the object as the server answered it. */
export type ObjectWrite<Options> = <A extends KubeObject>(
  kind: ResourceKind<A, "ReadWrite">,
  object: A,
  options?: Options,
) => Effect.Effect<Live<A>, K8sError>

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
  readonly apply: ObjectWrite<ApplyOptions>
  /** Server-side apply to the `/status` subresource; send `apiVersion`, `kind`, `metadata.name/namespace`, `status`. */
  readonly applyStatus: ObjectWrite<ApplyOptions>
  /** `POST`: fails with `AlreadyExists` when the name is taken. */
  readonly create: ObjectWrite<WriteOptions>
  /** `PUT`: a full update guarded by `metadata.resourceVersion` (409 `Conflict` when stale). */
  readonly replace: ObjectWrite<WriteOptions>
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

/** Builds the client for one kubeconfig, `defaults` filling what `options` leaves out. Scoped: its pool closes with it. */
const make = (
  kubeConfig: KubeConfig,
  options: KubeClientOptions = {},
): Effect.Effect<KubeClientShape, K8sError, Scope.Scope> =>
  makeClient(kubeConfig, {
    ...defaults,
    ...(options.fieldManager === undefined ? {} : { fieldManager: options.fieldManager }),
    ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
    ...(options.requestTimeout === undefined ? {} : { requestTimeout: options.requestTimeout }),
    ...(options.credentialsReuse === undefined ? {} : { credentialsReuse: options.credentialsReuse }),
  })

/** The Kubernetes client service. */
export class KubeClient extends Context.Service<KubeClient, KubeClientShape>()("@cartographer/k8s/KubeClient") {
  /** The defaults of `KubeClientOptions` and of each request's options. */
  static readonly defaults = defaults

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
