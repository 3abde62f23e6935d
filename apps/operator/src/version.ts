/**
 * The product version. The bundle has it compiled in (esbuild `define`); run from sources or `dist/`, it is read from
 * the package's `package.json`, one directory up from both.
 */
import { createRequire } from "node:module"

declare const __CARTOGRAPHER_VERSION__: string | undefined

const fromPackage = (): string => {
  try {
    return (createRequire(import.meta.url)("../package.json") as { version: string }).version
  } catch {
    return "unknown"
  }
}

export const version: string = typeof __CARTOGRAPHER_VERSION__ === "string" ? __CARTOGRAPHER_VERSION__ : fromPackage()
