// What kubectl itself shows of Workspaces, against Workspaces the running operator converges: the short name and
// printer columns with their values (`kubectl get ws`), `kubectl wait --for=condition=Ready` as the README says, and
// `kubectl explain` with the descriptions the Schema carries (read from the Schema's own annotations).
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { Workflows } from "@cartographer/schema"
import { kubectl, kubectlStdout as ok, useNamespace } from "@cartographer/test/harness"
import { type Schema, SchemaAST } from "effect"
import { describe, expect, it } from "vitest"
import { useOperator } from "./support/convergedWorkspace.js"

const namespace = useNamespace("kubectl-view")
const operator = useOperator(namespace)
const sample = fileURLToPath(new URL("../../../samples/basic-workspace.yaml", import.meta.url))

/** A field's description as the Schema states it (on the encoded side, where a default's description sits). */
const descriptionOf = (field: Schema.Top): string | undefined =>
  SchemaAST.resolveDescription(SchemaAST.toEncoded(field.ast)) ??
  (field.ast.annotations as { readonly description?: string } | undefined)?.description

const words = (text: string) => text.replace(/\s+/gu, " ").trim()

describe("kubectl's own view of Workspaces the operator converges", () => {
  it("waits for Ready with `kubectl wait --for=condition=Ready`, and times out on a Workspace that is not", async () => {
    await operator.provideVolume("test-environment")
    await ok(["apply", "-n", namespace, "-f", sample])
    // One the operator holds back on purpose: Postgres stopped, so Ready stays False.
    const stopped = (await readFile(sample, "utf8"))
      .replace("name: test-environment", "name: stopped")
      .replace("databaseReplicas: 1", "databaseReplicas: 0")
    await ok(["apply", "-n", namespace, "-f", "-"], { input: stopped })
    const waited = await kubectl(
      ["wait", "-n", namespace, "--for=condition=Ready", "workspace/test-environment", "--timeout=180s"],
      { timeoutMs: 200_000 },
    )
    expect(waited.code, waited.stderr).toBe(0)
    expect(waited.stdout.trim()).toBe("workspace.mlops.aigency.com/test-environment condition met")
    const notReady = await kubectl([
      "wait",
      "-n",
      namespace,
      "--for=condition=Ready",
      "workspace/stopped",
      "--timeout=5s",
    ])
    expect(notReady.code).not.toBe(0)
    expect(notReady.stderr).toContain("timed out waiting for the condition")
  }, 240_000)

  it("lists them as `kubectl get ws` with the columns Ready, Server, Pools and Age, and the reason with -o wide", async () => {
    const table = (await ok(["get", "ws", "-n", namespace])).trimEnd().split("\n")
    expect(table[0]?.split(/\s+/u)).toEqual(["NAME", "READY", "SERVER", "POOLS", "AGE"])
    const rows = table.slice(1).map((line) => line.split(/\s+/u))
    expect(rows).toEqual([
      [
        "stopped",
        "False",
        `http://stopped-orion-server.${namespace}.svc:4200/api`,
        "default",
        expect.stringMatching(/^\d+s$|^\d+m\d*s?$/u),
      ],
      [
        "test-environment",
        "True",
        `http://test-environment-orion-server.${namespace}.svc:4200/api`,
        "default",
        expect.stringMatching(/^\d+s$|^\d+m\d*s?$/u),
      ],
    ])
    const wide = (await ok(["get", "ws", "-n", namespace, "-o", "wide"])).trimEnd().split("\n")
    expect(wide[0]?.split(/\s+/u)).toEqual(["NAME", "READY", "REASON", "SERVER", "POOLS", "AGE"])
    expect(wide.slice(1).map((line) => line.split(/\s+/u).slice(0, 3))).toEqual([
      ["stopped", "False", "DatabaseStopped"],
      ["test-environment", "True", "AllComponentsReady"],
    ])
    // The kind's category lists them too.
    expect(await ok(["get", "cartographer", "-n", namespace, "-o", "name"])).toContain(
      "workspace.mlops.aigency.com/test-environment",
    )
  })

  it("explains workspace.spec.workflows with every field's description from the Schema", async () => {
    const explained = await ok(["explain", "workspace.spec.workflows"])
    const text = words(explained)
    expect(explained).toMatch(/^GROUP:\s+mlops\.aigency\.com$/mu)
    expect(explained).toMatch(/^KIND:\s+Workspace$/mu)
    const own = descriptionOf(Workflows)
    expect(own).toBeDefined()
    expect(text).toContain(`DESCRIPTION: ${words(own ?? "")}`)
    const fields = Object.entries(Workflows.fields as Record<string, Schema.Top>)
    expect(fields.length).toBeGreaterThan(10)
    for (const [name, field] of fields) {
      const description = descriptionOf(field)
      expect(description, `spec.workflows.${name} has a description in the Schema`).toBeDefined()
      // kubectl prints `  <name>\t<type>` and the description wrapped below it.
      expect(explained).toMatch(new RegExp(`^  ${name}\\s+<`, "mu"))
      expect(text, `kubectl explain shows spec.workflows.${name}'s description`).toContain(words(description ?? ""))
    }
  })
})
