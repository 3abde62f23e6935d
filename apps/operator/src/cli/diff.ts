/**
 * `cartographer diff -f <file|->`: what applying the Workspaces of a file would change in the cluster, as unified
 * diffs (like `kubectl diff`), computed by the API server with server-side dry-run applies — nothing is written:
 *
 * 1. the Workspace itself, dry-run applied as `kubectl apply --server-side` would (field manager `kubectl`);
 * 2. the children the operator would converge to for that Workspace (the same plan as `cartographer plan`, but made
 *    against the cluster: an existing database Secret keeps its password), each dry-run applied with the operator's
 *    field manager `cartographer`;
 * 3. the children the operator would prune (found by their labels and controller owner).
 *
 * Secret values are never printed: they show as `***`, marked `(before)`/`(after)` when they would change.
 * Exit codes (kubectl diff's): 0 no differences, 1 differences, 2 an error (invalid Workspace, forbidden, …).
 */
import { randomBytes } from "node:crypto"
import { parseArgs } from "node:util"
import {
  type K8sError,
  Kinds,
  KubeClient,
  type KubeClientShape,
  type KubeObject,
  type ResourceKind,
} from "@cartographer/k8s"
import { type ManagedObject, nothingObserved, type Observed, observeApplied, plan } from "@cartographer/reconciler"
import { parseDocuments, validateWorkspace, type Workspace } from "@cartographer/schema"
import { Cause, Effect, Layer, Option, TextDiff } from "effect"
import { stringify } from "yaml"
import { readInput } from "./input.js"

export const usage = `Usage: cartographer diff -f <file|-> [options]

Shows what applying the Workspaces in the file would change in the cluster: the Workspace itself, the objects the
operator would create or change for it, and those it would delete. The API server computes every result with a
server-side dry-run apply; nothing is written. Secret values are masked.

Options:
  -f, --filename <file|->   Workspace manifest (YAML or JSON; - for standard input). Other kinds are skipped.
  -n, --namespace <ns>      namespace (default: the Workspace's, else "default")
      --kubeconfig <file>   kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
      --field-manager <m>   field manager of the Workspace's dry-run apply (default: kubectl, as kubectl apply --server-side)
  -h, --help                show this help

Exit codes: 0 no differences, 1 differences, 2 an error.`

export interface DiffIo {
  readonly readFile: (path: string) => Promise<string>
  readonly readStdin: () => Promise<string>
  readonly write: (text: string) => void
  readonly error: (text: string) => void
}

type AnyKind = ResourceKind<KubeObject, "ReadWrite">

const kindOf = (kind: string): AnyKind | undefined =>
  (Kinds as unknown as Record<string, AnyKind | undefined>)[kind] ?? undefined

const isWorkspaceDocument = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" &&
  value !== null &&
  (value as { kind?: unknown }).kind === "Workspace" &&
  typeof (value as { apiVersion?: unknown }).apiVersion === "string" &&
  (value as { apiVersion: string }).apiVersion.startsWith("mlops.aigency.com/")

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

/** Fields the server manages and a diff of desired state should not show. */
const normalize = (object: KubeObject | undefined): Record<string, unknown> | undefined => {
  if (object === undefined) return undefined
  const {
    managedFields: _m,
    resourceVersion: _r,
    generation: _g,
    uid: _u,
    creationTimestamp: _c,
    selfLink: _s,
    ...metadata
  } = (object.metadata ?? {}) as Record<string, unknown>
  // kubectl's client-side bookkeeping, which the API server rewrites on every server-side apply.
  const annotations = metadata.annotations as Record<string, string> | undefined
  if (annotations !== undefined && lastApplied in annotations) {
    const { [lastApplied]: _lastApplied, ...others } = annotations
    if (Object.keys(others).length > 0) metadata.annotations = others
    else delete metadata.annotations
  }
  const { status: _status, ...rest } = object as Record<string, unknown>
  return { ...rest, metadata }
}

/** Replaces Secret values by `***` (kubectl diff's convention), so that no secret reaches the terminal. */
export const maskSecrets = (
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
): [Record<string, unknown> | undefined, Record<string, unknown> | undefined] => {
  if ((before ?? after)?.kind !== "Secret") return [before, after]
  const mask = (
    self: Record<string, unknown> | undefined,
    other: Record<string, unknown> | undefined,
    mark: string,
  ) => {
    if (self === undefined) return undefined
    const masked: Record<string, unknown> = { ...self }
    for (const field of ["data", "stringData"]) {
      const values = self[field] as Record<string, string> | undefined
      if (values === undefined) continue
      const otherValues = (other?.[field] ?? {}) as Record<string, string>
      masked[field] = Object.fromEntries(
        Object.entries(values).map(([key, value]) => [key, otherValues[key] === value ? "***" : `*** (${mark})`]),
      )
    }
    return masked
  }
  return [mask(before, after, "before"), mask(after, before, "after")]
}

const toText = (object: Record<string, unknown> | undefined): string =>
  object === undefined ? "" : stringify(object, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false })

const describe = (kind: AnyKind, namespace: string | undefined, name: string) =>
  `${kind.apiVersion.replace("/", ".")}.${kind.kind}.${namespace === undefined ? "" : `${namespace}.`}${name}`

export interface ObjectDiff {
  readonly id: string
  /** Unified diff; empty when nothing changes. */
  readonly diff: string
}

const unified = (id: string, live: KubeObject | undefined, merged: KubeObject | undefined): ObjectDiff => {
  const [before, after] = maskSecrets(normalize(live), normalize(merged))
  const edits = TextDiff.lines(toText(before), toText(after))
  const body = TextDiff.unified(edits, { fromFile: `live/${id}`, toFile: `merged/${id}` })
  return { id, diff: body === "" ? "" : `diff -u -N live/${id} merged/${id}\n${body}` }
}

const getOption = (client: KubeClientShape, kind: AnyKind, namespace: string, name: string) =>
  client.get(kind, { namespace, name }).pipe(
    Effect.map(Option.some),
    Effect.catchReason("K8sError", "NotFound", () => Effect.succeed(Option.none<KubeObject>())),
    Effect.map(Option.getOrUndefined),
  )

/**
 * The plan the operator converges to, made against what exists: the database Secret (so that its password is
 * kept), then as `convergedPlan` (migration done, everything ready).
 */
export const convergedAgainst = (workspace: Workspace, observed: Observed) => {
  const outcome = {
    now: observed.now,
    generatedPassword: observed.generatedPassword,
    migration: "succeeded",
    ready: true,
  } as const
  const first = plan(workspace, observed)
  const second = plan(workspace, observeApplied(first, outcome))
  return plan(workspace, observeApplied(second, outcome))
}

/** The object as a server-side apply would leave it, defaulted and admitted by the API server (dry run). */
const dryRunApply = (
  client: KubeClientShape,
  kind: AnyKind,
  object: KubeObject,
  fieldManager: string,
): Effect.Effect<KubeObject, K8sError> => client.apply(kind, object, { dryRun: true, fieldManager, force: true })

interface WorkspaceDiff {
  readonly diffs: ReadonlyArray<ObjectDiff>
  readonly errors: ReadonlyArray<string>
}

const diffWorkspace = (
  client: KubeClientShape,
  document: Record<string, unknown>,
  namespace: string,
  fieldManager: string,
): Effect.Effect<WorkspaceDiff> =>
  Effect.gen(function* () {
    const diffs: Array<ObjectDiff> = []
    const errors: Array<string> = []
    const failed = (what: string) => (error: K8sError) =>
      Effect.sync(() => {
        errors.push(`${what}: ${error.message}`)
        return undefined
      })
    const metadata = (document.metadata ?? {}) as Record<string, unknown>
    const name = String(metadata.name)
    const desired = { ...document, metadata: { ...metadata, namespace } } as KubeObject
    const workspaceId = describe(Kinds.Workspace, namespace, name)

    const live = yield* getOption(client, Kinds.Workspace, namespace, name).pipe(
      Effect.catch(failed(`get ${workspaceId}`)),
    )
    const merged = yield* dryRunApply(client, Kinds.Workspace, desired, fieldManager).pipe(
      Effect.catch(failed(`dry-run apply ${workspaceId}`)),
    )
    if (merged === undefined) return { diffs, errors }
    diffs.push(unified(workspaceId, live, merged))

    const decoded = validateWorkspace(merged)
    if (!decoded.ok) {
      errors.push(`${workspaceId}: ${decoded.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`)
      return { diffs, errors }
    }
    const workspace = decoded.value
    const secret = yield* getOption(client, Kinds.Secret, namespace, `${name}-environment-secrets`).pipe(
      Effect.catch(failed(`get Secret ${namespace}/${name}-environment-secrets`)),
    )
    const secretData = (secret as { data?: Record<string, string> } | undefined)?.data
    const planned = convergedAgainst(workspace, {
      ...nothingObserved({ now: new Date().toISOString(), generatedPassword: randomBytes(24).toString("base64url") }),
      ...(secretData === undefined ? {} : { secret: { data: secretData } }),
    })

    for (const object of planned.apply as ReadonlyArray<ManagedObject>) {
      const kind = kindOf(object.kind)
      const objectNamespace = object.metadata.namespace
      const id =
        kind === undefined
          ? `${object.kind}.${objectNamespace}.${object.metadata.name}`
          : describe(kind, objectNamespace, object.metadata.name)
      if (kind === undefined) {
        errors.push(`${id}: kind not supported by diff`)
        continue
      }
      const current = yield* getOption(client, kind, objectNamespace, object.metadata.name).pipe(
        Effect.catch(failed(`get ${id}`)),
      )
      const result = yield* dryRunApply(client, kind, object as unknown as KubeObject, "cartographer").pipe(
        Effect.catch(failed(`dry-run apply ${id}`)),
      )
      if (result !== undefined) diffs.push(unified(id, current, result))
    }

    for (const selector of planned.prune) {
      const kind = kindOf(selector.kind)
      if (kind === undefined) continue
      const labelSelector = Object.entries(selector.matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",")
      const listed = yield* client
        .list(kind, { namespace: selector.namespace, labelSelector })
        .pipe(Effect.catch(failed(`list ${kind.kind} in ${selector.namespace}`)))
      for (const item of listed?.items ?? []) {
        const itemName = item.metadata.name
        if (selector.keep.includes(itemName)) continue
        const owner = item.metadata.ownerReferences?.find((r) => r.controller === true)
        if (selector.controllerUid !== undefined && owner?.uid !== selector.controllerUid) continue
        diffs.push(unified(describe(kind, selector.namespace, itemName), item, undefined))
      }
    }
    return { diffs, errors }
  })

export const runDiff = async (argv: ReadonlyArray<string>, io: DiffIo): Promise<number> => {
  let values: {
    filename?: string | undefined
    namespace?: string | undefined
    kubeconfig?: string | undefined
    "field-manager"?: string | undefined
    help?: boolean
  }
  try {
    values = parseArgs({
      args: [...argv],
      allowPositionals: false,
      options: {
        filename: { type: "string", short: "f" },
        namespace: { type: "string", short: "n" },
        kubeconfig: { type: "string" },
        "field-manager": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values
  } catch (error) {
    io.error(`cartographer diff: ${error instanceof Error ? error.message : String(error)}\n\n${usage}\n`)
    return 2
  }
  if (values.help === true) {
    io.write(`${usage}\n`)
    return 0
  }
  const input = await readInput("diff", usage, values, io)
  if (input === 2) return 2
  const { text, label } = input
  const workspaces: Array<{ document: Record<string, unknown>; namespace: string }> = []
  let invalid = false
  for (const document of parseDocuments(text)) {
    if (document.errors.length > 0) {
      for (const e of document.errors) io.error(`${label}:${e.line}: ${e.message}\n`)
      invalid = true
      continue
    }
    if (!isWorkspaceDocument(document.value)) {
      io.error(`${label}:${document.line}: skipped, not a mlops.aigency.com Workspace\n`)
      continue
    }
    const result = validateWorkspace(document.value)
    if (!result.ok) {
      for (const issue of result.issues) {
        io.error(`${label}:${document.line}: ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}\n`)
      }
      invalid = true
      continue
    }
    const namespace = values.namespace ?? result.value.metadata.namespace ?? "default"
    workspaces.push({ document: document.value, namespace })
  }
  if (invalid) return 2
  if (workspaces.length === 0) {
    io.error(`${label}: no mlops.aigency.com Workspace found\n`)
    return 2
  }
  const clientLayer =
    values.kubeconfig === undefined
      ? KubeClient.layerConfig({ userAgent: "cartographer-diff" })
      : KubeClient.layerFromFile(values.kubeconfig, { userAgent: "cartographer-diff" })
  const fieldManager = values["field-manager"] ?? "kubectl"
  const program = Effect.gen(function* () {
    const client = yield* KubeClient
    return yield* Effect.forEach(workspaces, (w) => diffWorkspace(client, w.document, w.namespace, fieldManager))
  }).pipe(Effect.provide(Layer.fresh(clientLayer)))
  const exit = await Effect.runPromiseExit(program)
  if (exit._tag === "Failure") {
    io.error(`cartographer diff: ${Cause.pretty(exit.cause)}\n`)
    return 2
  }
  let changed = false
  let failed = false
  for (const result of exit.value) {
    for (const d of result.diffs) {
      if (d.diff === "") continue
      changed = true
      io.write(d.diff)
    }
    for (const error of result.errors) {
      failed = true
      io.error(`cartographer diff: ${error}\n`)
    }
  }
  return failed ? 2 : changed ? 1 : 0
}
