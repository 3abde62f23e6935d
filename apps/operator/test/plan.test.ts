import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { convergedPlan, generatePassword } from "@cartographer/reconciler"
import { validateWorkspace } from "@cartographer/schema"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import { runDiff } from "../src/cli/diff.js"
import { runPlan } from "../src/cli/plan.js"
import { capturedIo } from "./support/io.js"

const sample = fileURLToPath(new URL("../../../samples/basic-workspace.yaml", import.meta.url))

const run = async (argv: ReadonlyArray<string>, stdin = "") => {
  const { io, output } = capturedIo(stdin)
  const code = await runPlan(argv, { ...io, password: () => "fixed-for-test", now: () => "2025-01-01T00:00:00Z" })
  return { code, ...output }
}

/** Parsed as kubectl does (YAML 1.1), empty documents dropped. */
const documents = (yaml: string): Array<Record<string, unknown>> =>
  parseAllDocuments(yaml, { version: "1.1" })
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => d !== null)

const workspace = (workflows: string, name = "ws") => `apiVersion: mlops.aigency.com/v1alpha1
kind: Workspace
metadata: { name: ${name} }
spec:
  workflows:
${workflows}
`

describe("cartographer plan", () => {
  it("prints exactly the objects the operator converges to, as multi-document YAML", async () => {
    const { code, out } = await run(["-f", sample])
    expect(code).toBe(0)
    const result = validateWorkspace((await import("yaml")).parse(await readFile(sample, "utf8")))
    if (!result.ok) throw new Error("sample invalid")
    const expected = convergedPlan(result.value, {
      now: "x",
      generatedPassword: "fixed-for-test",
      generatedSecrets: { apiAuthPassword: "fixed-for-test", redisPassword: "fixed-for-test" },
    }).apply
    expect(documents(out)).toEqual(JSON.parse(JSON.stringify(expected)))
  })

  it("puts objects in the namespace given with -n, else the Workspace's, else default", async () => {
    const namespaces = (yaml: string) =>
      new Set(documents(yaml).map((d) => (d.metadata as { namespace: string }).namespace))
    expect(namespaces((await run(["-f", sample, "-n", "prefect"])).out)).toEqual(new Set(["prefect"]))
    expect(namespaces((await run(["-f", sample])).out)).toEqual(new Set(["default"]))
  })

  it("prints a freshly generated password, with a warning, or leaves the Secret out with --omit-secret", async () => {
    const withSecret = await run(["-f", sample])
    expect(withSecret.out).toContain("generated at random for this run")
    expect(documents(withSecret.out).some((d) => d.kind === "Secret")).toBe(true)
    const without = await run(["-f", sample, "--omit-secret"])
    expect(documents(without.out).some((d) => d.kind === "Secret")).toBe(false)
    expect(without.out).toContain("# Secret test-environment-environment-secrets omitted (--omit-secret)")
    expect(generatePassword()).toMatch(/^[A-Za-z0-9_-]{32}$/u)
    expect(generatePassword()).not.toBe(generatePassword())
  })

  it("keeps strings that YAML 1.1 would read as booleans or numbers strings", async () => {
    const tricky = await run(
      ["-f", "-"],
      workspace(`    agentPools: [{ name: "no", workQueues: ["on", "y"], env: [{ name: X, value: "0o17" }] }]`),
    )
    expect(tricky.code).toBe(0)
    type PodOwner = { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } }
    const worker = documents(tricky.out).find(
      (d) => d.kind === "Deployment" && (d.metadata as { name: string }).name === "ws-agent-no",
    ) as PodOwner | undefined
    const container = worker?.spec.template.spec.containers[0]
    expect(container?.args).toEqual(expect.arrayContaining(["--pool", "no", "--work-queue", "on", "--work-queue", "y"]))
    expect(container?.env).toContainEqual({ name: "X", value: "0o17" })
  })

  it("reports every issue of an invalid Workspace with its line and exits 1", async () => {
    const { code, out, err } = await run(["-f", "-"], workspace(`    databaseReplicas: 2\n    agentPools: []`))
    expect(code).toBe(1)
    expect(out).toBe("")
    expect(err).toContain("<stdin>:1: spec.workflows.databaseReplicas")
    expect(err).toContain("spec.workflows.agentPools")
  })

  it("skips documents of other kinds with a notice, and fails when there is no Workspace at all", async () => {
    const mixed = await run(
      ["-f", "-"],
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n---\n${workspace("    agentPools: [{ name: a }]")}`,
    )
    expect(mixed.code).toBe(0)
    expect(mixed.err).toContain("skipped, not a mlops.aigency.com Workspace")
    const none = await run(["-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n")
    expect(none.code).toBe(1)
    expect(none.err).toContain("no mlops.aigency.com Workspace found")
  })

  it("refuses a Workspace the planner cannot build, with the reason", async () => {
    const { code, err } = await run(["-f", "-"], workspace("    agentPools: [{ name: a }]", "a".repeat(40)))
    expect(code).toBe(1)
    expect(err).toContain("at most 37 characters")
  })

  it("answers usage errors with exit code 2", async () => {
    expect((await run([])).code).toBe(2)
    expect((await run(["-f", sample, "--bogus"])).code).toBe(2)
    expect((await run(["-f", "/nonexistent/file.yaml"])).err).toContain("ENOENT")
    expect((await run(["-f", sample, "-n", "Not_A_Namespace"])).code).toBe(2)
    expect((await run(["--help"])).code).toBe(0)
  })
})

describe("plan and diff refuse a bad invocation before doing anything", () => {
  const diff = async (argv: ReadonlyArray<string>) => {
    const { io, output } = capturedIo()
    return { code: await runDiff(argv, io), err: output.err }
  }

  it.each([
    [[], "-f <file|-> is required"],
    [["-f", sample, "--namespace", "Not_A_Namespace"], '--namespace "Not_A_Namespace" is not a namespace name'],
    [["-f", "/nonexistent/workspace.yaml"], "cannot read /nonexistent/workspace.yaml: ENOENT"],
  ])("%j → exit 2 and one line saying why", async (argv, message) => {
    const planned = await run(argv)
    expect(planned).toMatchObject({ code: 2, out: "" })
    expect(planned.err).toContain(`cartographer plan: ${message}`)
    const diffed = await diff(argv)
    expect(diffed.code).toBe(2)
    expect(diffed.err).toContain(`cartographer diff: ${message}`)
  })
})
