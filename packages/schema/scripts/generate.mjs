// Writes the files generated from the Workspace Schema: the CRD (install/crd/) and the editor JSON Schema.
// `--check` writes nothing and fails when a checked-in file differs (run by `npm run check`).
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { stringify } from "yaml"
import { workspaceCrd, workspaceJsonSchema } from "../dist/index.js"

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const header = "# Generated from packages/schema/src (npm run generate). Do not edit.\n"
const files = {
  "install/crd/workspaces.mlops.aigency.com.yaml": header + stringify(workspaceCrd(), { lineWidth: 0 }),
  "packages/schema/workspace.schema.json": `${JSON.stringify(workspaceJsonSchema(), null, 2)}\n`,
}

const check = process.argv.includes("--check")
let stale = 0
for (const [path, content] of Object.entries(files)) {
  const target = join(root, path)
  const current = await readFile(target, "utf8").catch(() => undefined)
  if (current === content) continue
  if (check) {
    console.error(`${path} is stale: run \`npm run generate\` and commit the result`)
    stale++
  } else {
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, content)
    console.log(`wrote ${path}`)
  }
}
process.exit(stale > 0 ? 1 : 0)
