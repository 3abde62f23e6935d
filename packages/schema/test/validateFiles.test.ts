// Files of Workspace documents as the validator reads them: documents with their lines, issues located in the file.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parseDocuments } from "../src/documents.js"
import { validateText } from "../src/validateFiles.js"

const invalid = readFileSync(new URL("./fixtures/invalid-workspace.yaml", import.meta.url), "utf8")

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
