// Workspace documents for the Schema's example-based tests: the original Cartographer's minimal one, and copies of it
// with one change.
import type { WorkspaceEncoded } from "../src/Workspace.js"

export const base = (): WorkspaceEncoded => ({
  apiVersion: "mlops.aigency.com/v1alpha1",
  kind: "Workspace",
  metadata: { name: "test-environment" },
  spec: { workflows: { agentPools: [{ name: "default" }] } },
})

/** Bad documents are built by mutating a copy freely; their type is deliberately loose. */
// biome-ignore lint/suspicious/noExplicitAny: test fixtures break the Workspace type on purpose
export type Loose = any

/** `base()` with one change, written as a function of a mutable copy. */
export const withChange = (change: (ws: Loose) => void): unknown => {
  const ws: Loose = structuredClone(base())
  change(ws)
  return ws
}

/** Sets the field at `path` (`spec.workflows.agentPools[0].replicas`: names and list indexes) of `document`. */
export const setAt = (document: Loose, path: string, value: unknown): void => {
  const keys = path.split(/\.|\[(\d+)\]/u).filter((key) => key !== undefined && key !== "")
  const parent = keys.slice(0, -1).reduce((object, key) => object[key], document)
  parent[keys.at(-1) as string] = value
}
