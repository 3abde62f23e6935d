import { mkdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { generatePassword } from "@cartographer/reconciler"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import { runDiff } from "../src/cli/diff.js"
import { runPlan } from "../src/cli/plan.js"
import { capturedIo } from "./support/io.js"

const sample = fileURLToPath(new URL("../../../samples/basic-workspace.yaml", import.meta.url))
const externalSample = fileURLToPath(new URL("../../../samples/external-database-workspace.yaml", import.meta.url))

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

/**
 * The output of `cartographer plan` for a few invocations, compared byte for byte with files a person read and
 * checked (`test/golden/plan/`). To accept a change: review the diff, run with UPDATE_GOLDEN=1, and read the files.
 */
const goldenDir = fileURLToPath(new URL("./golden/plan/", import.meta.url))
/** Golden file, arguments, and the sample given on standard input (so that no machine's path is in the output). */
const goldens: ReadonlyArray<readonly [string, ReadonlyArray<string>, string]> = [
  ["basic-workspace.yaml", ["-f", "-"], sample],
  ["basic-workspace-omit-secret.yaml", ["-f", "-", "--omit-secret", "-n", "prefect"], sample],
  ["external-database-workspace.yaml", ["-f", "-", "-n", "team"], externalSample],
]

describe("cartographer plan", () => {
  it.each(goldens)("prints %s, the golden file a person checked", async (golden, argv, file) => {
    const { code, out, err } = await run(argv, await readFile(file, "utf8"))
    expect({ code, err }).toEqual({ code: 0, err: "" })
    const path = join(goldenDir, golden)
    if (process.env.UPDATE_GOLDEN === "1") {
      await mkdir(goldenDir, { recursive: true })
      await writeFile(path, out)
      return
    }
    expect(out).toBe(await readFile(path, "utf8"))
  })

  it("prints YAML that kubectl reads back as one object per document, in the order they are applied", async () => {
    const { out } = await run(["-f", sample])
    expect(documents(out).map((d) => `${d.kind}/${(d.metadata as { name: string }).name}`)).toEqual([
      "Secret/test-environment-environment-secrets",
      "PersistentVolumeClaim/test-environment-orion-database-pvc",
      "Service/test-environment-orion-database",
      "Service/test-environment-orion-database-headless",
      "StatefulSet/test-environment-orion-database",
      "PersistentVolumeClaim/test-environment-orion-database-backup",
      "NetworkPolicy/test-environment-orion-database",
      expect.stringMatching(/^Job\/test-environment-orion-migrate-[0-9a-f]{8}$/u),
      "Service/test-environment-orion-server",
      "Deployment/test-environment-orion-server",
      "Deployment/test-environment-agent-default",
    ])
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
