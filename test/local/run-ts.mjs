// Runs a TypeScript entry point of the repository on Node 24 (what `npm start` uses): esbuild bundles it from the
// sources — the workspace packages through their `@cartographer/source` export condition, so nothing needs to be
// built first — into node_modules/.cache, with every npm dependency left external (resolved from node_modules)
// and each module's `import.meta.url` kept pointing at its source file.
// Usage: node test/local/run-ts.mjs <entry.ts> [args…]
import { mkdir, readdir, readFile, rm } from "node:fs/promises"
import { basename, dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { build } from "esbuild"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..")
const [entry, ...args] = process.argv.slice(2)
if (!entry) {
  process.stderr.write("usage: node test/local/run-ts.mjs <entry.ts> [args…]\n")
  process.exit(2)
}
const outdir = join(repoRoot, "node_modules", ".cache", "cartographer-run-ts")
await mkdir(outdir, { recursive: true })
// One bundle per process (two operator replicas start at once); those of processes that are gone are removed.
const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === "EPERM"
  }
}
for (const name of await readdir(outdir)) {
  const pid = Number(/-(\d+)\.mjs$/.exec(name)?.[1])
  if (pid && !alive(pid)) await rm(join(outdir, name), { force: true })
}
const outfile = join(outdir, `${basename(entry, ".ts")}-${process.pid}.mjs`)

await build({
  entryPoints: [resolve(entry)],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  conditions: ["@cartographer/source"],
  sourcemap: "inline",
  logLevel: "warning",
  plugins: [
    {
      name: "npm-dependencies-external",
      setup(b) {
        // Bare specifiers are npm packages (external), except the workspace's own, bundled from source.
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith("@cartographer/") ? undefined : { path: args.path, external: true },
        )
        // Modules find their neighbours (scripts, manifests) through import.meta.url: keep it their own.
        b.onLoad({ filter: /\.ts$/ }, async (args) => ({
          contents: (await readFile(args.path, "utf8")).replaceAll(
            "import.meta.url",
            JSON.stringify(pathToFileURL(args.path).href),
          ),
          loader: "ts",
        }))
      },
    },
  ],
})

process.argv = [process.argv[0], outfile, ...args]
await import(pathToFileURL(outfile).href)
