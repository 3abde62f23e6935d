/**
 * The product version, and the Node.js major version the CLI needs (`engines.node` of its `package.json`, the one
 * place that states it; the bundle is built for it). The bundle has both compiled in (esbuild `define`); run from
 * sources or `dist/`, they are read from the package's `package.json`, one directory up from both.
 */
import { createRequire } from "node:module"

declare const __CARTOGRAPHER_VERSION__: string | undefined
declare const __CARTOGRAPHER_NODE__: string | undefined

interface PackageJson {
  readonly version: string
  readonly engines: { readonly node: string }
}

const packageJson = (): PackageJson | undefined => {
  try {
    return createRequire(import.meta.url)("../package.json") as PackageJson
  } catch {
    return undefined
  }
}

export const version: string =
  typeof __CARTOGRAPHER_VERSION__ === "string" ? __CARTOGRAPHER_VERSION__ : (packageJson()?.version ?? "unknown")

/** `>=24` → 24. */
export const nodeMajorOf = (range: string): number => Number(/\d+/u.exec(range)?.[0] ?? 0)

const requiredNode: number = nodeMajorOf(
  typeof __CARTOGRAPHER_NODE__ === "string" ? __CARTOGRAPHER_NODE__ : (packageJson()?.engines.node ?? ""),
)

/** Why this Node.js cannot run the CLI, in one line, or `undefined` when it can. */
export const unsupportedNode = (running: string, required: number = requiredNode): string | undefined =>
  nodeMajorOf(running) >= required
    ? undefined
    : `cartographer needs Node.js ${required} or newer; this is Node.js ${running}`
