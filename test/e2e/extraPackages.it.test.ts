// EXTRA_PIP_PACKAGES on the hardened worker pod (user 1001, read-only root), on the real node: the pool's worker
// starts, and a flow run imports the package. The package is a small pure-Python one that PyPI serves, downloaded
// here and served inside the cluster by a package index of the team's own (pods reach nothing outside the cluster,
// as in many companies' clusters): the pool names that index with UV_INDEX_URL, as a user would.
import { createHash } from "node:crypto"
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, expect, it } from "vitest"
import { stringify } from "yaml"
import { describeOnRealNode, kubectl, run } from "../harness/index.js"
import { prefectVenv } from "../prefect/index.js"
import { containerLogs } from "./cluster.js"
import { minutes, useOperatorSuite } from "./operatorSuite.js"

const packageName = "cowsay"
const packageVersion = "6.1"
const image = "prefecthq/prefect:3.9.1-python3.12"

const ok = async (args: ReadonlyArray<string>, input?: string) => {
  const result = await kubectl(args, input === undefined ? {} : { input })
  expect(result.code, `kubectl ${args.join(" ")}: ${result.stderr}`).toBe(0)
  return result.stdout
}

/** A PEP 503 index of one package, served by Python's http.server from a ConfigMap: a team's private index. */
const packageIndex = async (namespace: string) => {
  const download = await mkdtemp(join(tmpdir(), "cartographer-wheel-"))
  try {
    const venv = await prefectVenv()
    const pip = await run(
      join(venv, "bin", "python"),
      [
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
        download,
        `${packageName}==${packageVersion}`,
      ],
      { timeoutMs: minutes(3) },
    )
    expect(pip.code, pip.stderr).toBe(0)
    const [wheel] = (await readdir(download)).filter((f) => f.endsWith(".whl"))
    if (wheel === undefined) throw new Error(`pip downloaded no wheel of ${packageName}`)
    const bytes = await readFile(join(download, wheel))
    const sha256 = createHash("sha256").update(bytes).digest("hex")
    const configMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "package-index" },
      data: { "index.html": `<a href="${wheel}#sha256=${sha256}">${wheel}</a>\n` },
      binaryData: { [wheel]: bytes.toString("base64") },
    }
    const labels = { app: "package-index" }
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "package-index" },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsUser: 1001, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "index",
                image,
                args: ["python", "-m", "http.server", "8080", "--directory", "/srv"],
                ports: [{ name: "http", containerPort: 8080 }],
                readinessProbe: { httpGet: { path: `/simple/${packageName}/`, port: "http" } },
                securityContext: {
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [{ name: "index", mountPath: `/srv/simple/${packageName}` }],
              },
            ],
            volumes: [{ name: "index", configMap: { name: "package-index" } }],
          },
        },
      },
    }
    const service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "package-index" },
      spec: { selector: labels, ports: [{ name: "http", port: 8080, targetPort: "http" }] },
    }
    await ok(
      ["apply", "-n", namespace, "-f", "-"],
      [configMap, deployment, service].map((o) => stringify(o)).join("---\n"),
    )
    await ok(["rollout", "status", "-n", namespace, "deployment/package-index", "--timeout=5m"])
    return `http://package-index.${namespace}.svc:8080/simple`
  } finally {
    await rm(download, { recursive: true, force: true })
  }
}

describeOnRealNode("EXTRA_PIP_PACKAGES on a pool, on the real node", () => {
  const suite = useOperatorSuite("e2e-extra-packages")
  const { namespace } = suite
  const selector = "mlops.aigency.com/environment=extras,mlops.aigency.com/pool=default"

  beforeAll(async () => {
    const index = await packageIndex(namespace)
    const workspace = {
      apiVersion: "mlops.aigency.com/v1alpha1",
      kind: "Workspace",
      metadata: { name: "extras" },
      spec: {
        workflows: {
          image,
          server: { env: [{ name: "PREFECT_SERVER_ANALYTICS_ENABLED", value: "false" }] },
          agentPools: [
            {
              name: "default",
              env: [
                { name: "EXTRA_PIP_PACKAGES", value: `${packageName}==${packageVersion}` },
                { name: "UV_INDEX_URL", value: index },
              ],
            },
          ],
        },
      },
    }
    await suite.apply(stringify(workspace))
  }, minutes(10))

  it(
    "starts the pool's worker with the package installed, and a flow run imports it from the pod's volume",
    async () => {
      const waited = await kubectl(
        ["wait", "-n", namespace, "--for=condition=Ready", "workspace/extras", "--timeout=10m"],
        {
          timeoutMs: minutes(11),
        },
      )
      expect(waited.code, `${waited.stderr}\n${(await kubectl(["get", "pods,events", "-n", namespace])).stdout}`).toBe(
        0,
      )
      const install = await containerLogs(namespace, selector, "extra-pip-packages")
      expect(install).toContain(`${packageName}==${packageVersion}`)
      const url = await suite.endpoint("extras-orion-server", "http-orion")
      const id = await suite.deployAndRun(url, "default", "e2e-extra-packages", {
        parameters: { require: packageName },
      })
      const flowRun = await suite.finishedFlowRun(url, id)
      expect(flowRun.state?.type, flowRun.state?.message ?? "").toBe("COMPLETED")
      expect(await containerLogs(namespace, selector, "agent")).toContain(
        `imported ${packageName} from /opt/cartographer/extra-packages/${packageName}`,
      )
    },
    minutes(20),
  )
})
