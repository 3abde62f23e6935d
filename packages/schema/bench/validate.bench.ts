/**
 * Validator throughput: 1,000 generated Workspace files (written to disk as YAML) read, parsed and validated the way
 * `cartographer-validate` does it. Reported as files/s; the target is ≥ 1,000 files/s on a 2-core machine.
 * Run with `npm run bench -w @cartographer/schema`. Not a test: nothing here asserts a time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { afterAll, it } from "vitest"
import { stringify } from "yaml"
import { validateText } from "../src/index.js"
import { workspaceDocument } from "../test/arbitraries.js"

const count = 1000
const dir = mkdtempSync(join(tmpdir(), "cartographer-bench-"))
const files = fc.sample(workspaceDocument, { numRuns: count, seed: 42 }).map((doc, i) => {
  const file = join(dir, `ws-${i}.yaml`)
  writeFileSync(file, stringify(doc))
  return file
})

const validateAll = (): number => {
  let valid = 0
  for (const file of files) {
    const report = validateText(file, readFileSync(file, "utf8"))
    if (report.documents.every((d) => d.status === "valid")) valid++
  }
  return valid
}

const runs: Array<number> = []

it(`validates ${count} generated files (read + parse + validate), 5 timed rounds after a warm-up`, () => {
  validateAll()
  for (let round = 0; round < 5; round++) {
    const start = performance.now()
    if (validateAll() !== count) throw new Error("a generated Workspace was invalid")
    runs.push(performance.now() - start)
  }
})

afterAll(() => {
  const best = Math.min(...runs)
  const median = [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)] ?? best
  const result = {
    benchmark: "validator",
    files: count,
    filesPerSecond: Math.round((count / median) * 1000),
    bestFilesPerSecond: Math.round((count / best) * 1000),
  }
  console.log(JSON.stringify(result))
  rmSync(dir, { recursive: true, force: true })
})
