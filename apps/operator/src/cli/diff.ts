/**
 * `cartographer diff -f <file|->`: what applying the Workspaces of a file would change in the cluster, as unified
 * diffs (like `kubectl diff`), computed by the API server with server-side dry-run applies — nothing is written:
 *
 * 1. the Workspace itself, dry-run applied as `kubectl apply --server-side` would (field manager `kubectl`);
 * 2. the children the operator would converge to for that Workspace (the same plan as `cartographer plan`, but made
 *    against the cluster: an existing database Secret keeps its password), each dry-run applied exactly as the
 *    operator applies it (its field manager, its intent annotation);
 * 3. the children the operator would prune, chosen by the planner's own prune rules.
 *
 * Secret values are never printed: they show as `***`, marked `(before)`/`(after)` when they would change.
 * Exit codes (kubectl diff's): 0 no differences, 1 differences, 2 an error (invalid Workspace, forbidden, …).
 */
import { type K8sError, Kinds, type KubeClientShape, type KubeObject, type ResourceKind } from "@cartographer/k8s"
import {
  convergedPlan,
  Engine,
  type ExistingObject,
  generatePassword,
  generateSecrets,
  type ManagedKind,
  managedKinds,
  nothingObserved,
  optionalKinds,
  pruneTargets,
  withIntent,
} from "@cartographer/reconciler"
import { Names, toYaml, validateWorkspace } from "@cartographer/schema"
import { Effect, Option, Schema, TextDiff } from "effect"
import { kubeconfigOption, runWithClient } from "./Cluster.js"
import { help, type Options } from "./Options.js"
import { type FileOptions, type FileWorkspace, fileOptions, type InputIo, readCommandInput } from "./WorkspaceFiles.js"

interface DiffOptions extends FileOptions {
  readonly kubeconfig: string | undefined
  readonly fieldManager: string
}

const diffOptions: Options<DiffOptions> = {
  ...fileOptions,
  kubeconfig: kubeconfigOption(),
  fieldManager: {
    flag: "field-manager",
    metavar: "m",
    schema: Schema.String,
    default: "kubectl",
    doc: "field manager of the Workspace's dry-run apply (kubectl apply --server-side's)",
  },
}

export const usage = `Usage: cartographer diff -f <file|-> [options]

Shows what applying the Workspaces in the file would change in the cluster: the Workspace itself, the objects the
operator would create or change for it, and those it would delete. The API server computes every result with a
server-side dry-run apply; nothing is written. Secret values are masked.

Options:
${help(diffOptions)}

Exit codes: 0 no differences, 1 differences, 2 an error.`

export type DiffIo = InputIo

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
  object === undefined ? "" : toYaml(object, { sortKeys: true })

type AnyKind = ResourceKind<KubeObject, "ReadWrite">

/** `apps.v1.Deployment.ns.name`, as kubectl diff names the files it compares. */
const idOf = (kind: AnyKind, namespace: string, name: string) =>
  `${kind.apiVersion.replace("/", ".")}.${kind.kind}.${namespace}.${name}`

interface ObjectDiff {
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

interface WorkspaceDiff {
  readonly diffs: ReadonlyArray<ObjectDiff>
  readonly errors: ReadonlyArray<string>
}

const diffWorkspace = (
  client: KubeClientShape,
  input: FileWorkspace,
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
    const { name, namespace = "default" } = input.workspace.metadata
    const workspaceId = idOf(Kinds.Workspace, namespace, name)
    const dryRun = (kind: AnyKind, object: KubeObject, manager: string) =>
      client.apply(kind, object, { dryRun: true, fieldManager: manager, force: true })

    const live = yield* getOption(client, Kinds.Workspace, namespace, name).pipe(
      Effect.catch(failed(`get ${workspaceId}`)),
    )
    const merged = yield* dryRun(Kinds.Workspace, input.document, fieldManager).pipe(
      Effect.catch(failed(`dry-run apply ${workspaceId}`)),
    )
    if (merged === undefined) return { diffs, errors }
    diffs.push(unified(workspaceId, live, merged))

    // The Workspace as the cluster would hold it (defaults, uid of an existing one), planned as the operator would.
    const decoded = validateWorkspace(merged)
    if (!decoded.ok) {
      errors.push(`${workspaceId}: ${decoded.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`)
      return { diffs, errors }
    }
    const secretName = Names.secretName(name)
    const secret = yield* getOption(client, Kinds.Secret, namespace, secretName).pipe(
      Effect.catch(failed(`get Secret ${namespace}/${secretName}`)),
    )
    const secretData = (secret as { data?: Record<string, string> } | undefined)?.data
    const planned = convergedPlan(decoded.value, {
      ...nothingObserved({
        now: new Date().toISOString(),
        generatedPassword: generatePassword(),
        generatedSecrets: generateSecrets(),
      }),
      ...(secretData === undefined ? {} : { secret: { data: secretData } }),
    })

    for (const object of planned.apply) {
      const kind = managedKinds[object.kind]
      const { namespace: objectNamespace, name: objectName } = object.metadata
      const id = idOf(kind, objectNamespace, objectName)
      const current = yield* getOption(client, kind, objectNamespace, objectName).pipe(
        Effect.catch(failed(`get ${id}`)),
      )
      // Exactly what the engine sends: the object with its intent annotation (NoOp.ts), under the engine's field
      // manager; without the annotation, the apply would show the engine's own bookkeeping being removed. The
      // planner's object types are closed interfaces; the client takes any JSON object.
      const notServed = optionalKinds[object.kind]
      const result = yield* dryRun(kind, { ...withIntent(object) }, Engine.defaults.fieldManager).pipe(
        Effect.catch((error: K8sError) =>
          // The operator would report this kind as not installed (Degraded); so does the diff.
          notServed !== undefined && error.reason._tag === "NotFound"
            ? Effect.sync(() => void errors.push(`${id}: ${notServed}`))
            : failed(`dry-run apply ${id}`)(error),
        ),
      )
      if (result !== undefined) diffs.push(unified(id, current, result))
    }

    // What exists of each kind the plan prunes, and of that, what the planner's rules would delete.
    const existing: Array<ExistingObject & { readonly live: KubeObject; readonly managedKind: ManagedKind }> = []
    for (const selector of planned.prune) {
      const kind = managedKinds[selector.kind]
      const labelSelector = Object.entries(selector.matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",")
      const listed = yield* client.list(kind, { namespace: selector.namespace, labelSelector }).pipe(
        Effect.catch((error: K8sError) =>
          // A kind the cluster does not serve has no objects to prune.
          optionalKinds[selector.kind] !== undefined && error.reason._tag === "NotFound"
            ? Effect.succeed(undefined)
            : failed(`list ${kind.kind} in ${selector.namespace}`)(error),
        ),
      )
      for (const item of listed?.items ?? []) {
        const controllerUid = item.metadata.ownerReferences?.find((r) => r.controller === true)?.uid
        existing.push({
          kind: selector.kind,
          namespace: item.metadata.namespace ?? selector.namespace,
          name: item.metadata.name,
          labels: item.metadata.labels ?? {},
          ...(controllerUid === undefined ? {} : { controllerUid }),
          live: item,
          managedKind: selector.kind,
        })
      }
    }
    for (const target of pruneTargets(planned.prune, existing)) {
      diffs.push(unified(idOf(managedKinds[target.managedKind], target.namespace, target.name), target.live, undefined))
    }
    return { diffs, errors }
  })

export const runDiff = async (argv: ReadonlyArray<string>, io: DiffIo): Promise<number> => {
  const input = await readCommandInput("diff", usage, diffOptions, argv, io)
  if (typeof input === "number") return input
  const { options, file } = input
  for (const error of [...file.errors, ...(file.empty === undefined ? [] : [file.empty])]) io.error(`${error}\n`)
  if (file.errors.length > 0 || file.empty !== undefined) return 2
  const results = await runWithClient(
    "diff",
    options.kubeconfig,
    (client) => Effect.forEach(file.workspaces, (workspace) => diffWorkspace(client, workspace, options.fieldManager)),
    io.error,
  )
  if (results === undefined) return 2
  let changed = false
  let failed = false
  for (const result of results) {
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
