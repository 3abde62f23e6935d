/**
 * Golden files: for every `samples/*.yaml`, the plan the operator converges to (objects, then prune selectors and
 * status) is compared with `test/golden/<sample>.yaml`. A missing or different golden fails; to accept a change,
 * review the diff and run `UPDATE_GOLDEN=1 npx vitest run packages/reconciler/test/golden.test.ts`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseDocuments, toYaml, validateWorkspace } from "@cartographer/schema"
import { describe, expect, it } from "vitest"
import { convergedPlan } from "../src/index.js"

const samplesDir = fileURLToPath(new URL("../../../samples/", import.meta.url))
const goldenDir = fileURLToPath(new URL("./golden/", import.meta.url))
const update = process.env.UPDATE_GOLDEN === "1"

/** Fixed inputs: goldens must not change from run to run. */
const inputs = {
  now: "2025-01-01T00:00:00Z",
  generatedPassword: "golden-password",
  generatedSecrets: { apiAuthPassword: "golden-auth-password", redisPassword: "golden-redis-password" },
}

const samples = existsSync(samplesDir)
  ? readdirSync(samplesDir)
      .filter((f) => /\.ya?ml$/u.test(f))
      .sort()
  : []

const goldenOf = (sample: string): string => {
  const text = readFileSync(`${samplesDir}${sample}`, "utf8")
  const parts: Array<string> = [`# Golden plan of samples/${sample} (converged: migration succeeded, all ready).\n`]
  for (const document of parseDocuments(text)) {
    // What a sample brings along (a Secret, a ServiceAccount) is not planned; cartographer-validate skips it too.
    if ((document.value as { kind?: unknown } | null)?.kind !== "Workspace") continue
    const result = validateWorkspace(document.value)
    if (!result.ok)
      throw new Error(`samples/${sample} document ${document.index} is invalid: ${JSON.stringify(result.issues)}`)
    const p = convergedPlan(result.value, inputs)
    for (const object of p.apply) parts.push(`---\n${toYaml(object)}`)
    parts.push(`--- # prune selectors and status\n${toYaml({ prune: p.prune, status: p.status })}`)
  }
  return parts.join("")
}

describe("golden plans of the samples", () => {
  it("finds samples to compare", () => {
    expect(samples.length).toBeGreaterThan(0)
  })

  for (const sample of samples) {
    it(`plans samples/${sample} exactly as its golden file says`, () => {
      const actual = goldenOf(sample)
      const path = `${goldenDir}${sample}`
      if (update) {
        mkdirSync(goldenDir, { recursive: true })
        writeFileSync(path, actual)
        return
      }
      if (!existsSync(path))
        throw new Error(`no golden file for samples/${sample}: review the plan and run with UPDATE_GOLDEN=1`)
      expect(actual).toBe(readFileSync(path, "utf8"))
    })
  }

  it("has no golden file without its sample", () => {
    const goldens = existsSync(goldenDir) ? readdirSync(goldenDir).filter((f) => /\.ya?ml$/u.test(f)) : []
    expect(goldens.filter((g) => !samples.includes(g))).toEqual([])
  })
})
