// Bundles the `cartographer` CLI (operator, diff, plan) into one ESM file that runs on plain Node 24 with no
// node_modules: the workspace packages are bundled from their sources, every dependency is inlined.
// Usage: node scripts/bundle.mjs [--outfile <path>]   (default dist/cartographer.mjs)
import { readFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { build } from "esbuild"

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..")

/** Builds the bundle; resolves with its path and size in bytes. */
export const bundle = async ({ outfile = join(appDir, "dist", "cartographer.mjs") } = {}) => {
  const { version } = JSON.parse(await readFile(join(appDir, "package.json"), "utf8"))
  const result = await build({
    entryPoints: [join(appDir, "src", "main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    // The workspace packages' TypeScript sources, as in the tests (no build of theirs needed).
    conditions: ["@cartographer/source"],
    // CommonJS dependencies (prom-client, parts of client-node) call require() for Node built-ins.
    banner: {
      js: 'import { createRequire as __cartographerRequire } from "node:module";\nconst require = __cartographerRequire(import.meta.url);',
    },
    define: { __CARTOGRAPHER_VERSION__: JSON.stringify(version) },
    // ws loads these native accelerators when present and works without them.
    external: ["bufferutil", "utf-8-validate"],
    legalComments: "eof",
    metafile: true,
    logLevel: "warning",
  })
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0)
  return { outfile, bytes, version }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outfile: { type: "string" } } })
  const { outfile, bytes, version } = await bundle(values.outfile === undefined ? {} : { outfile: values.outfile })
  console.log(`bundled cartographer ${version}: ${outfile} (${(bytes / 2 ** 20).toFixed(2)} MiB)`)
}
