// Bundles the `cartographer` CLI (operator, diff, plan) into one ESM file that runs on plain Node 24 with no
// node_modules: the workspace packages are bundled from their sources, every dependency is inlined.
// Usage: node scripts/bundle.mjs [--outfile <path>]   (default dist/cartographer.mjs)
import { readFile, stat } from "node:fs/promises"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { build } from "esbuild"

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..")

/**
 * The esbuild settings of everything that runs as the operator: this bundle, and the benchmark's and chaos suites'
 * engine host (test/bench/support/operatorProcess.ts), so that what is measured is built as what ships.
 */
const packageJson = JSON.parse(await readFile(join(appDir, "package.json"), "utf8"))
/** The Node.js major version the CLI needs: `engines.node` of its package.json, the one place that states it. */
const nodeMajor = /\d+/u.exec(packageJson.engines.node)?.[0]

export const runtimeBuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: `node${nodeMajor}`,
  // The workspace packages' TypeScript sources, as in the tests (no build of theirs needed).
  conditions: ["@cartographer/source"],
  // CommonJS dependencies (prom-client, parts of client-node) call require() for Node built-ins.
  banner: {
    js: 'import { createRequire as __cartographerRequire } from "node:module";\nconst require = __cartographerRequire(import.meta.url);',
  },
  // ws loads these native accelerators when present and works without them.
  external: ["bufferutil", "utf-8-validate"],
  // Without comments, and with names kept (readable stack traces): V8 keeps the whole source text in the heap for
  // as long as the process runs, and a single character beyond Latin-1 in any comment (undici's have typographic
  // quotes) makes it a two-byte string, twice the size (what that saves: test/bench/README.md).
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "eof",
  logLevel: "warning",
}

/** Fails when a bundle's text goes beyond Latin-1, which would double what its source takes in V8's heap (above). */
export const assertLatin1 = async (file) => {
  const text = await readFile(file, "utf8")
  const at = text.search(/[\u0100-\u{10ffff}]/u)
  if (at >= 0) {
    const line = text.slice(0, at).split("\n").length
    throw new Error(`${file}:${line}: ${JSON.stringify(text.slice(Math.max(0, at - 60), at + 20))} is beyond Latin-1`)
  }
}

/**
 * Builds the bundle; resolves with its path and size in bytes. `sourcemap: true` also writes `<outfile>.map` beside
 * it, not linked from the bundle (whose text stays byte for byte the same): the benchmark maps the CPU profile of
 * what ships back to source modules with it.
 */
export const bundle = async ({ outfile = join(appDir, "dist", "cartographer.mjs"), sourcemap = false } = {}) => {
  const { version } = packageJson
  const result = await build({
    ...runtimeBuildOptions,
    entryPoints: [join(appDir, "src", "main.ts")],
    outfile,
    ...(sourcemap ? { sourcemap: "external" } : {}),
    define: {
      __CARTOGRAPHER_VERSION__: JSON.stringify(version),
      __CARTOGRAPHER_NODE__: JSON.stringify(packageJson.engines.node),
    },
    metafile: true,
  })
  await assertLatin1(outfile)
  const bytes = result.metafile.outputs[relative(process.cwd(), outfile)]?.bytes ?? (await stat(outfile)).size
  return { outfile, bytes, version }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outfile: { type: "string" } } })
  const { outfile, bytes, version } = await bundle(values.outfile === undefined ? {} : { outfile: values.outfile })
  console.log(`bundled cartographer ${version}: ${outfile} (${(bytes / 2 ** 20).toFixed(2)} MiB)`)
}
