// `cartographer diff` against the run's real API server: everything is computed by server-side dry-run applies, and
// nothing is written.
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { convergedPlan } from "@cartographer/reconciler"
import { validateWorkspace } from "@cartographer/schema"
import { kubectl, sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { runDiff } from "../src/cli/diff.js"
import { capturedIo } from "./support/io.js"

const namespace = useNamespace("operator-diff")
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

  it("shows nothing for a Workspace the operator has converged, and only the change for an edited file", async () => {
    const text = await readFile(samplePath, "utf8")
    expect((await kubectl(["apply", "-n", namespace, "-f", samplePath])).code).toBe(0)
    // What a converged operator leaves in the cluster: its plan, applied under its field manager.
    const live = JSON.parse(
      (await kubectl(["get", "workspace", "test-environment", "-n", namespace, "-o", "json"])).stdout,
    ) as unknown
    const decoded = validateWorkspace(live)
    if (!decoded.ok) throw new Error("the applied sample does not decode")
    const objects = convergedPlan(decoded.value, {
      now: new Date().toISOString(),
      generatedPassword: "kept-password",
      generatedSecrets: { apiAuthPassword: "kept-auth", redisPassword: "kept-redis" },
    })
    const applied = await kubectl(
      ["apply", "--server-side", "--field-manager=cartographer", "--force-conflicts", "-f", "-"],
      { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects.apply }) },
    )
    expect(applied.code, applied.stderr).toBe(0)

    const same = await diff(text)
    expect(same.err).toBe("")
    expect({ code: same.code, changed: headers(same.out) }).toEqual({ code: 0, changed: [] })

    const edited = parse(text) as { spec: { workflows: { agentPools: Array<{ replicas: number }> } } }
    const pool = edited.spec.workflows.agentPools[0]
    if (pool === undefined) throw new Error("the sample has no pool")
    pool.replicas = 3
    const changed = await diff(JSON.stringify(edited))
    expect(changed.code).toBe(1)
    expect(headers(changed.out).sort()).toEqual(
      [
        `apps.v1.Deployment.${namespace}.test-environment-agent-default`,
        `mlops.aigency.com.v1alpha1.Workspace.${namespace}.test-environment`,
      ].sort(),
    )
    expect(changed.out).toContain("-  replicas: 1\n+  replicas: 3")
    // Still nothing written.
    const replicas = await kubectl([
      "get",
      "deployment",
      "test-environment-agent-default",
      "-n",
      namespace,
      "-o",
      "jsonpath={.spec.replicas}",
    ])
    expect(replicas.stdout).toBe("1")
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
