// Enforces the one-way layering of docs/architecture.md: schema → k8s → reconciler → operator, nothing upward, and a
// pure planner. Fails (exit 1) with file:line for every import that breaks a rule.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"

const root = new URL("..", import.meta.url).pathname

/** What each package's sources may import (besides node: built-ins and relative paths). */
const allowed = {
  "packages/schema": ["effect", "yaml"],
  "packages/k8s": ["effect", "@kubernetes/client-node", "@cartographer/schema"],
  "packages/reconciler": ["effect", "@cartographer/schema", "@cartographer/k8s"],
  "apps/operator": [
    "effect",
    "@effect/platform-node",
    "yaml",
    "@cartographer/schema",
    "@cartographer/k8s",
    "@cartographer/reconciler",
    "prom-client",
  ],
}
/** Node built-ins that do I/O are off-limits in the schema's library code and the planner. */
const pureDirs = ["packages/reconciler/src/plan"]

const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : /\.(ts|mts)$/.test(name) ? [path] : []
  })

const importRe =
  /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm
const packageOf = (spec) => (spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0])

const problems = []
for (const [pkg, deps] of Object.entries(allowed)) {
  const src = join(root, pkg, "src")
  let list
  try {
    list = files(src)
  } catch {
    continue
  }
  for (const file of list) {
    const text = readFileSync(file, "utf8")
    const rel = relative(root, file)
    const pure = pureDirs.some((d) => rel.startsWith(d))
    for (const match of text.matchAll(importRe)) {
      const spec = match[3] ?? match[4] ?? match[5]
      const typeOnly = match[2] !== undefined
      const line = text.slice(0, match.index).split("\n").length
      if (spec.startsWith(".")) continue
      if (spec.startsWith("node:")) {
        if (pure) problems.push(`${rel}:${line}: the planner is pure and may not import ${spec}`)
        continue
      }
      const name = packageOf(spec)
      if (!deps.includes(name))
        problems.push(`${rel}:${line}: ${pkg} may not import ${spec} (allowed: ${deps.join(", ")})`)
      else if (pure && name === "@kubernetes/client-node" && !typeOnly)
        problems.push(`${rel}:${line}: the planner may import only types from ${spec}`)
      else if (pure && name === "@cartographer/k8s" && !typeOnly)
        problems.push(`${rel}:${line}: the planner may import only types from ${spec}`)
    }
    if (pure && /Effect\.(promise|tryPromise|sync|sleep)|\bfetch\(|Math\.random|Date\.now|new Date\(\)/.test(text)) {
      problems.push(`${rel}: the planner performs I/O, reads the clock or draws randomness`)
    }
  }
}
if (problems.length > 0) {
  console.error(`Layering violations (see docs/architecture.md):\n${problems.join("\n")}`)
  process.exit(1)
}
console.log("layering: ok")
