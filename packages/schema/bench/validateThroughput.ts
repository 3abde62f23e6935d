/**
 * Validator throughput as a function that returns the figures: `count` generated Workspace files (written to disk as
 * YAML) read, parsed and validated the way `cartographer-validate` does it, in timed rounds after a warm-up. Used by
 * `validate.bench.ts` and by the repository benchmark `test/bench/run.ts`. Target: ≥ 1,000 files/s on 2 cores.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { stringify } from "yaml"
import { validateText } from "../src/validateFiles.js"
import { workspaceDocument } from "../testing/index.js"

export interface ValidatorThroughput {
  readonly files: number
  /** Median of the rounds. */
  readonly filesPerSecond: number
  readonly bestFilesPerSecond: number
}

export const validatorTarget = 1_000

export const measureValidatorThroughput = (
  options: { readonly count?: number; readonly rounds?: number } = {},
): ValidatorThroughput => {
  const count = options.count ?? 1000
  const rounds = options.rounds ?? 5
  const dir = mkdtempSync(join(tmpdir(), "cartographer-bench-"))
  try {
    const files = fc.sample(workspaceDocument(), { numRuns: count, seed: 42 }).map((doc, i) => {
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
    validateAll()
    const runs: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      const start = performance.now()
      if (validateAll() !== count) throw new Error("a generated Workspace was invalid")
      runs.push(performance.now() - start)
    }
    const best = Math.min(...runs)
    const median = [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)] ?? best
    return {
      files: count,
      filesPerSecond: Math.round((count / median) * 1000),
      bestFilesPerSecond: Math.round((count / best) * 1000),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
