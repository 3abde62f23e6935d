// Putting a benchmark's starting state on the control plane with the bare client: namespaces and Workspaces.
import { managedKindNames, optionalKinds } from "@cartographer/reconciler"
import { benchWorkspaces } from "./benchWorkspaces.js"
import { collectionPath } from "./objectPaths.js"
import { mapConcurrently, type RawApi } from "./rawApi.js"

const ok = async (
  what: string,
  response: Promise<{ status: number; body: string }>,
  alsoOk: ReadonlyArray<number> = [],
) => {
  const r = await response
  if (r.status >= 300 && !alsoOk.includes(r.status))
    throw new Error(`${what}: HTTP ${r.status} ${r.body.slice(0, 300)}`)
  return r
}

/**
 * Creates namespace `name` with what the samples' comments ask for before they are applied: the external-database
 * sample's Secret (`prefect-db`). Without it the operator rightly starts no migration for those Workspaces.
 */
export const createNamespace = async (api: RawApi, name: string): Promise<void> => {
  await ok(
    `create namespace ${name}`,
    api.send({
      method: "POST",
      path: "/api/v1/namespaces",
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
    }),
    [409],
  )
  await ok(
    `create Secret ${name}/prefect-db`,
    api.send({
      method: "POST",
      path: `/api/v1/namespaces/${name}/secrets`,
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "prefect-db" },
        stringData: { "connection-url": "postgresql+asyncpg://prefect:unused@team-postgres.db.svc:5432/prefect" },
      },
    }),
    [409],
  )
}

/** Creates `count` benchmark Workspaces in `namespace`; resolves with the live objects (uids, generations). */
export const createWorkspaces = async (
  api: RawApi,
  namespace: string,
  count: number,
  concurrency = 8,
): Promise<ReadonlyArray<unknown>> =>
  mapConcurrently(benchWorkspaces(count, namespace), concurrency, async (document) => {
    const r = await ok(
      `create Workspace ${namespace}/${document.metadata.name}`,
      api.send({ method: "POST", path: collectionPath("Workspace", namespace), body: document }),
    )
    return JSON.parse(r.body) as unknown
  })

/** Creates the `index`-th benchmark Workspace (`ws-<index>`, sample `index` mod 5) alone in `namespace`. */
export const createWorkspaceAt = async (api: RawApi, namespace: string, index: number): Promise<unknown> => {
  const document = benchWorkspaces(index + 1, namespace)[index]
  const r = await ok(
    `create Workspace ${namespace}/${document?.metadata.name}`,
    api.send({ method: "POST", path: collectionPath("Workspace", namespace), body: document }),
  )
  return JSON.parse(r.body) as unknown
}

const namespacedKinds = ["Workspace", ...managedKindNames]

/**
 * Deletes every object of the kinds a benchmark makes in `namespace` (deletecollection per kind), so that the next
 * phase runs against a store of the same size as the previous one. PersistentVolumeClaims keep their protection
 * finalizer (no controller removes it in tier "api") and stay, terminating.
 */
export const clearNamespace = async (api: RawApi, namespace: string): Promise<void> => {
  for (const kind of namespacedKinds) {
    // The API server gives a deletecollection its request timeout (60 s) and answers 504 when it runs out, having
    // deleted part of the collection: on a slow machine, 1,000 objects of a kind can take longer. Each retry deletes
    // what is left.
    for (let attempt = 1; ; attempt++) {
      const r = await api.send({ method: "DELETE", path: collectionPath(kind, namespace), timeoutMs: 120_000 })
      // A kind whose CRD is not installed (the Gateway API's HTTPRoute) has nothing to delete.
      if (r.status < 300 || (r.status === 404 && kind in optionalKinds)) break
      if (r.status !== 504 || attempt === 5)
        throw new Error(`delete ${kind} in ${namespace}: HTTP ${r.status} ${r.body.slice(0, 200)}`)
    }
  }
}
