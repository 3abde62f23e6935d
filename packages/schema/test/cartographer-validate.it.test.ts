// `cartographer-validate`, the built command, as CI runs it: exit codes, file:doc: path: message, stdin, JSON.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { run as runProcess } from "@cartographer/test/harness"
import { afterAll, describe, expect, it } from "vitest"

const repo = join(import.meta.dirname, "..", "..", "..")
const cli = join(import.meta.dirname, "..", "bin", "cartographer-validate.js")
const invalid = readFileSync(new URL("./fixtures/invalid-workspace.yaml", import.meta.url), "utf8")

/** Runs the command (its launcher, on the built output) on the test's own Node; exit code and output. */
const run = (args: Array<string>, input?: string) => runProcess(process.execPath, [cli, ...args], { cwd: repo, input })

const scratchDirs: Array<string> = []
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "cartographer-validate-"))
  scratchDirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true })
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

  it("reports cross-field mistakes at the field to fix, with its line: a TLS Secret without a host", async () => {
    const document = [
      "apiVersion: mlops.aigency.com/v1alpha1",
      "kind: Workspace",
      "metadata: {name: exposed}",
      "spec:",
      "  workflows:",
      "    server:",
      "      ingress:",
      "        tlsSecretName: prefect-tls",
      "    agentPools: [{name: default}]",
      "",
    ].join("\n")
    const result = await run(["-"], document)
    expect(result.code).toBe(1)
    expect(result.stdout.trim()).toBe(
      "-: spec.workflows.server.ingress.tlsSecretName: needs ingress.host: a TLS certificate is served for a host name (line 8)",
    )
  })

  it("reads standard input with -", async () => {
    const result = await run(["-"], invalid)
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
