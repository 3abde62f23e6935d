import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { parseDocuments, validateText } from "../src/index.js"

const repo = join(import.meta.dirname, "..", "..", "..")
const cli = join(import.meta.dirname, "..", "dist", "bin", "validate.js")

/** Runs the built CLI on the test's own Node (24) and returns exit code and output. */
const run = async (args: Array<string>) => {
  const child = promisify(execFile)(process.execPath, [cli, ...args], { cwd: repo }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  )
  return child
}
const runWithInput = (args: Array<string>, input: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = execFile(process.execPath, [cli, ...args], { cwd: repo }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, stderr }),
    )
    p.stdin?.end(input)
  })

const scratchDirs: Array<string> = []
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "cartographer-validate-"))
  scratchDirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true })
})
const invalid = `apiVersion: mlops.aigency.com/v1alpha1
kind: Workspace
metadata:
  name: bad
spec:
  workflows:
    databaseReplicas: 3
    agentPools:
      - name: Default
`

describe("multi-document YAML", () => {
  it("gives each document its index and starting line, and drops empty ones", () => {
    const docs = parseDocuments("a: 1\n---\n---\nb: 2\n")
    expect(docs.map((d) => [d.index, d.line, d.value])).toEqual([
      [0, 1, { a: 1 }],
      [2, 4, { b: 2 }],
    ])
  })

  it("reports a syntax error with its line instead of throwing", () => {
    const report = validateText("f.yaml", "apiVersion: x\nkind: [\n")
    expect(report.documents[0]?.status).toBe("invalid")
    expect(JSON.stringify(report)).toContain("YAML syntax")
  })

  it("locates each issue's line in the file", () => {
    const report = validateText("f.yaml", invalid)
    const issues = report.documents[0]?.status === "invalid" ? report.documents[0].issues : []
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ["spec.workflows.databaseReplicas", 7],
      ["spec.workflows.agentPools[0].name", 9],
    ])
  })
})

describe("cartographer-validate", () => {
  it("exits 0 on every sample and says how many were valid", async () => {
    const result = await run(["samples"])
    expect(result.code).toBe(0)
    const count = readdirSync(join(repo, "samples")).filter((f) => f.endsWith(".yaml")).length
    expect(result.stderr).toContain(`${count} valid, 0 invalid`)
  })

  it("exits 1 and prints file:doc: path: message for an invalid document in a multi-document file", async () => {
    const dir = scratch()
    const file = join(dir, "ws.yaml")
    writeFileSync(file, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${invalid}`)
    const result = await run([file])
    expect(result.code).toBe(1)
    expect(result.stdout.trim().split("\n")).toEqual([
      `${file}:1: spec.workflows.databaseReplicas: must be 0 or 1: the in-cluster Postgres is a single instance (Postgres replication is not provided); for a replicated database set spec.workflows.database.external.secretRef (line 11)`,
      `${file}:1: spec.workflows.agentPools[0].name: must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. default, gpu-jobs) (line 13)`,
    ])
    expect(result.stderr).toContain(`${file}:0: skipped, not a Workspace (v1 ConfigMap)`)
  })

  it("reads standard input with -", async () => {
    const result = await runWithInput(["-"], invalid)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain("-: spec.workflows.databaseReplicas:")
  })

  it("prints a machine-readable report with --output json", async () => {
    const dir = scratch()
    writeFileSync(join(dir, "bad.yaml"), invalid)
    const result = await run([dir, "--output", "json"])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report.valid).toBe(false)
    expect(report.files[0].documents[0].issues[0]).toEqual({
      path: "spec.workflows.databaseReplicas",
      message: expect.stringContaining("must be 0 or 1"),
      line: 7,
    })
  })

  it("exits 2 on a missing file, an unknown option, or no arguments", async () => {
    expect((await run(["does-not-exist.yaml"])).code).toBe(2)
    expect((await run(["--frobnicate", "samples"])).code).toBe(2)
    expect((await run([])).code).toBe(2)
    expect((await run(["samples", "--output", "xml"])).code).toBe(2)
  })

  it("exits 0 for a directory with no Workspaces, reporting skipped documents", async () => {
    const dir = scratch()
    writeFileSync(join(dir, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    const result = await run([dir])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain("skipped, not a Workspace")
  })
})
