// `cartographer diff` against the run's real API server and a running operator: everything is computed by server-side
// dry-run applies, and nothing is written. What the operator converged shows no differences; an edit shows exactly
// what the planner changes.
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { convergedPlan } from "@cartographer/reconciler"
import { validateWorkspace } from "@cartographer/schema"
import { kubectl, pollUntil, sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { runDiff } from "../src/cli/diff.js"
import { useOperator } from "./support/convergedWorkspace.js"
import { capturedIo } from "./support/io.js"

const namespace = useNamespace("operator-diff")
const operator = useOperator(namespace)
const samplePath = fileURLToPath(new URL("../../../samples/basic-workspace.yaml", import.meta.url))

const diff = async (manifest: string, extra: ReadonlyArray<string> = [], kubeconfig?: string) => {
  const { io, output } = capturedIo(manifest)
  const code = await runDiff(
    ["-f", "-", "-n", namespace, `--kubeconfig=${kubeconfig ?? sharedControlPlane().kubeconfigPath}`, ...extra],
    io,
  )
  return { code, ...output }
}

const headers = (out: string) =>
  out
    .split("\n")
    .filter((line) => line.startsWith("diff -u -N live/"))
    .map((line) => line.split(" ")[3]?.replace("live/", ""))

const exists = async (kind: string, name: string) => (await kubectl(["get", kind, name, "-n", namespace])).code === 0

/** Every object of the namespace with its resourceVersion: equal before and after means nothing was written. */
const liveState = async () =>
  (
    await kubectl([
      "get",
      "workspaces,deployments,statefulsets,services,jobs,secrets,networkpolicies",
      "-n",
      namespace,
      "-o",
      "jsonpath={range .items[*]}{.kind}/{.metadata.name}@{.metadata.resourceVersion}{'\\n'}{end}",
    ])
  ).stdout

/** Until the operator has nothing left to do: the Workspace's status holds still for a few seconds. */
const settled = () =>
  pollUntil(
    "the Workspace settles",
    async () => {
      const first = await liveState()
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      return (await liveState()) === first ? true : undefined
    },
    { timeoutMs: 60_000, intervalMs: 0 },
  )

/** The ids (as diff names them) of the objects the planner plans differently for `after` than for `before`. */
const plannedChanges = (before: string, after: unknown): ReadonlyArray<string> => {
  const objects = (document: unknown) => {
    const decoded = validateWorkspace({ ...(document as object), metadata: { name: "test-environment", namespace } })
    if (!decoded.ok) throw new Error("the sample does not decode")
    const planned = convergedPlan(decoded.value, {
      now: "2025-01-01T00:00:00Z",
      generatedPassword: "p",
      generatedSecrets: { apiAuthPassword: "p", redisPassword: "p" },
    }).apply
    return new Map(
      planned.map((o) => [`${o.apiVersion.replace("/", ".")}.${o.kind}.${namespace}.${o.metadata.name}`, o]),
    )
  }
  const was = objects(parse(before))
  const now = objects(after)
  return [...now].filter(([id, o]) => JSON.stringify(was.get(id)) !== JSON.stringify(o)).map(([id]) => id)
}

describe("cartographer diff", () => {
  it("shows a new Workspace and every object the operator would create for it, writes nothing, and exits 1", async () => {
    const { code, out, err } = await diff(await readFile(samplePath, "utf8"))
    expect(err).toBe("")
    expect(code).toBe(1)
    const ids = headers(out)
    expect(ids).toContain(`mlops.aigency.com.v1alpha1.Workspace.${namespace}.test-environment`)
    expect(ids).toContain(`apps.v1.Deployment.${namespace}.test-environment-orion-server`)
    expect(ids).toContain(`apps.v1.StatefulSet.${namespace}.test-environment-orion-database`)
    expect(ids).toContain(`v1.Secret.${namespace}.test-environment-environment-secrets`)
    // Secret values are masked.
    expect(out).toContain("*** (after)")
    expect(out).not.toMatch(/password: "?[A-Za-z0-9+/=]{16,}/u)
    expect(await exists("workspace", "test-environment")).toBe(false)
    expect(await exists("deployment", "test-environment-orion-server")).toBe(false)
  })

  it("shows nothing for a Workspace the running operator has converged (exit 0)", async () => {
    await operator.provideVolume("test-environment")
    expect((await kubectl(["apply", "-n", namespace, "-f", samplePath])).code).toBe(0)
    const waited = await kubectl(
      ["wait", "-n", namespace, "--for=condition=Ready", "workspace/test-environment", "--timeout=180s"],
      { timeoutMs: 200_000 },
    )
    expect(waited.code, waited.stderr).toBe(0)
    await settled()
    const same = await diff(await readFile(samplePath, "utf8"))
    expect(same.err).toBe("")
    expect({ code: same.code, out: same.out }).toEqual({ code: 0, out: "" })
  }, 240_000)

  it("shows exactly the planned changes of an edited file (exit 1), and writes nothing", async () => {
    const text = await readFile(samplePath, "utf8")
    const edited = parse(text) as { spec: { workflows: { agentPools: Array<{ replicas: number }> } } }
    const pool = edited.spec.workflows.agentPools[0]
    if (pool === undefined) throw new Error("the sample has no pool")
    // Scaled to zero: above one replica the pool would also gain its disruption budget, a second planned change.
    pool.replicas = 0
    const before = await liveState()
    const changed = await diff(JSON.stringify(edited))
    expect(changed.err).toBe("")
    expect(changed.code).toBe(1)
    // What the planner changes between the two files, and the Workspace itself: nothing else.
    expect(headers(changed.out).sort()).toEqual(
      [`mlops.aigency.com.v1alpha1.Workspace.${namespace}.test-environment`, ...plannedChanges(text, edited)].sort(),
    )
    expect(plannedChanges(text, edited)).toEqual([`apps.v1.Deployment.${namespace}.test-environment-agent-default`])
    expect(changed.out).toContain("-  replicas: 1\n+  replicas: 0")
    // Line by line: the pool's replicas in the Workspace and in its Deployment, and the Deployment's record of what
    // the operator applied (its intent annotation), which the operator rewrites with the change.
    const lines = changed.out
      .split("\n")
      .filter((line) => /^[-+](?![-+]{2} )/u.test(line))
      .map((line) => `${line[0]}${line.slice(1).trim()}`)
    expect(lines.filter((l) => !l.includes("mlops.aigency.com/applied-intent")).sort()).toEqual([
      "+replicas: 0",
      "+replicas: 0",
      "-replicas: 1",
      "-replicas: 1",
    ])
    expect(lines.filter((l) => l.includes("mlops.aigency.com/applied-intent")).map((l) => l[0])).toEqual(["-", "+"])
    // Still nothing written.
    expect(await liveState()).toEqual(before)
  })

  it("exits 2 with the reasons for an invalid Workspace or a request the cluster refuses", async () => {
    const invalid = await diff(
      "apiVersion: mlops.aigency.com/v1alpha1\nkind: Workspace\nmetadata: { name: x }\nspec: { workflows: { agentPools: [] } }\n",
    )
    expect(invalid.code).toBe(2)
    expect(invalid.err).toContain("spec.workflows.agentPools")
    const nobody = await sharedControlPlane().clientFor({ namespace, name: "no-rights" })
    const refused = await diff(await readFile(samplePath, "utf8"), [], nobody.kubeconfigPath)
    expect(refused.code).toBe(2)
    expect(refused.err).toContain("forbidden")
  })
})
