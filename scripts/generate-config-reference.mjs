// Writes docs/configuration.md, the configuration reference, from the single sources of truth:
// - every Workspace spec (and status) field, from the Schema's descriptions, defaults and checks
//   (`workspaceJsonSchema()` of packages/schema);
// - every option of `cartographer run`, from its option table (apps/operator/src/run/RunConfig.ts).
// Both are loaded from their TypeScript sources (bundled in memory with esbuild), so no build is needed first.
//
// `--check` writes nothing and fails (exit 1) when a file is stale; run by `npm run check` (check:generated).
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { build } from "esbuild"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** Imports a TypeScript module of the repository (and what it imports) through an esbuild bundle. */
const importSource = async (path) => {
  const result = await build({
    entryPoints: [join(root, path)],
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node24",
    conditions: ["@cartographer/source"],
    // The workspace packages from their sources (as the tests see them, no build needed); the others as installed.
    plugins: [
      {
        name: "external-dependencies",
        setup: (esbuild) =>
          esbuild.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("@cartographer/") ? undefined : { path: args.path, external: true },
          ),
      },
    ],
    logLevel: "error",
  })
  // Written inside the repository, so that the external packages (effect, yaml) resolve from its node_modules.
  const file = join(root, "node_modules", ".cache", `config-reference-${process.pid}-${path.replace(/\W/g, "_")}.mjs`)
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, result.outputFiles[0].text)
  try {
    return await import(pathToFileURL(file).href)
  } finally {
    await rm(file, { force: true })
  }
}

const cell = (text) => String(text).replaceAll("|", "\\|").replaceAll("\n", " ")

const typeOf = (node) => {
  if (node.anyOf) {
    const types = node.anyOf.map(typeOf)
    return [...new Set(types)].join(" or ")
  }
  if (node.enum) return node.enum.map((v) => `\`${v}\``).join(", ")
  if (node.type === "array") return `list of ${node.items ? typeOf(node.items) : "values"}`
  if (
    node.type === "object" &&
    node.additionalProperties &&
    typeof node.additionalProperties === "object" &&
    !node.properties
  ) {
    return `map of ${typeOf(node.additionalProperties)}`
  }
  if (node.type === "integer") return "integer"
  return node.type ?? "any"
}

/** Checks a reader needs: ranges, lengths, item counts; patterns are left to the Schema's messages. */
const constraintsOf = (node) => {
  const out = []
  const safe = (n) => Math.abs(n) < 2 ** 53 - 1
  if (node.minimum !== undefined && node.maximum !== undefined && safe(node.minimum) && safe(node.maximum)) {
    out.push(`${node.minimum}–${node.maximum}`)
  } else if (node.minimum !== undefined && safe(node.minimum)) out.push(`≥ ${node.minimum}`)
  else if (node.maximum !== undefined && safe(node.maximum)) out.push(`≤ ${node.maximum}`)
  if (node.maxLength !== undefined) out.push(`at most ${node.maxLength} characters`)
  if (node.minItems !== undefined) out.push(`at least ${node.minItems} item${node.minItems === 1 ? "" : "s"}`)
  if (node.maxItems !== undefined) out.push(`at most ${node.maxItems} items`)
  return out
}

const formatDefault = (value) =>
  value === undefined ? "" : `\`${typeof value === "string" ? value : JSON.stringify(value)}\``

/** A node's shape without its prose: two places of the same type (an affinity, a toleration) compare equal. */
const shapeOf = (node) =>
  JSON.stringify(node, (key, value) => (key === "description" || key === "default" ? undefined : value))

/**
 * Sections of `| field | type | default | description |`, one per object, depth first. A type used in several places
 * (the placement fields of every component) is described once, where it first appears; the other places point there.
 */
const objectSections = (node, path, heading, sections = [], seen = new Map()) => {
  const rows = []
  const required = new Set(node.required ?? [])
  const nested = []
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const childPath = `${path}.${name}`
    const object =
      child.type === "object" && child.properties
        ? [child, childPath]
        : child.type === "array" && child.items?.type === "object" && child.items.properties
          ? [child.items, `${childPath}[]`]
          : undefined
    const first = object === undefined ? undefined : seen.get(shapeOf(object[0]))
    if (object !== undefined && first === undefined) {
      seen.set(shapeOf(object[0]), object[1])
      nested.push(object)
    }
    const description = [
      child.description,
      ...constraintsOf(child).map((c) => `(${c})`),
      ...(first === undefined ? [] : [`Fields as in \`${first}\`.`]),
    ]
      .filter(Boolean)
      .join(" ")
    const field = `\`${name}\`${required.has(name) ? " (required)" : ""}`
    rows.push(`| ${field} | ${cell(typeOf(child))} | ${cell(formatDefault(child.default))} | ${cell(description)} |`)
  }
  const intro = node.description ? `${node.description}\n\n` : ""
  const table = `| field | type | default | description |\n| --- | --- | --- | --- |\n${rows.join("\n")}\n`
  sections.push(`${heading} \`${path}\`\n\n${intro}${table}`)
  for (const [child, childPath] of nested) objectSections(child, childPath, heading, sections, seen)
  return sections
}

/** The reference as Markdown: a title, then sections one and two levels deeper. */
const render = ({ jsonSchema, runOptions }) => {
  const h = (n) => "#".repeat(1 + n)
  const options = runOptions
    .map((o) => `| \`--${o.flag}\` | \`${o.env}\` | ${cell(o.default)} | ${cell(o.doc)} |`)
    .join("\n")
  return `${h(0)} Configuration reference

Generated from the Workspace Schema (\`packages/schema\`) and the operator's option table by
\`scripts/generate-config-reference.mjs\` (\`npm run generate\`); do not edit by hand.

Every field is optional unless marked required, and an absent field takes the default shown. The API server applies
the same rules through the CRD, and \`cartographer-validate\` checks files before they reach a cluster.

${h(1)} Workspace spec

${objectSections(jsonSchema.properties.spec, "spec", h(2)).join("\n")}
${h(1)} Workspace status

Written by the operator through the \`/status\` subresource; read it with \`kubectl get workspace <name> -o yaml\`.

${objectSections(jsonSchema.properties.status, "status", h(2)).join("\n")}
${h(1)} Operator options (\`cartographer run\`)

Each option is a flag or an environment variable; the flag wins. Durations are written \`30s\`, \`2m\`, \`1m30s\`.

| flag | environment | default | description |
| --- | --- | --- | --- |
${options}
`
}

const main = async () => {
  const check = process.argv.includes("--check")
  const [{ workspaceJsonSchema }, { runOptionReference: runOptions }] = await Promise.all([
    importSource("packages/schema/src/index.ts"),
    importSource("apps/operator/src/run/RunConfig.ts"),
  ])
  const sources = { jsonSchema: workspaceJsonSchema(), runOptions }
  const header = "<!-- Generated by scripts/generate-config-reference.mjs (npm run generate). Do not edit. -->\n\n"
  const targets = { "docs/configuration.md": `${header}${render(sources)}` }
  let stale = 0
  for (const [path, content] of Object.entries(targets)) {
    const current = await readFile(join(root, path), "utf8").catch(() => undefined)
    if (current === content) continue
    if (check) {
      console.error(`${path} is stale: run \`npm run generate\` and commit the result`)
      stale++
    } else {
      await writeFile(join(root, path), content)
      console.log(`wrote ${path}`)
    }
  }
  process.exit(stale > 0 ? 1 : 0)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
