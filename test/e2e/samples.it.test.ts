// Every file in samples/, applied on the real node as a user would apply it (after the steps its comment names,
// such as creating a Secret it reads) in a namespace enforcing the restricted Pod Security profile, reaches Ready:
// `kubectl wait --for=condition=Ready`, as the README tells users. One sample at a time, each in a namespace of its
// own, deleted before the next (the node has room for about one Workspace).
import { randomBytes } from "node:crypto"
import { readdirSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import {
  describeOnRealNode,
  kubectl,
  type OperatorIdentity,
  kubectlStdout as ok,
  operatorIdentity,
  pollUntil,
  sharedControlPlane,
  useRealNodeTurn,
} from "../harness/index.js"
import { type OperatorProcess, startOperatorProcess } from "../local/operatorProcess.js"
import { externalPostgres, externalRedis, restrictedNamespace } from "./teamStores.js"

const samplesDir = fileURLToPath(new URL("../../samples", import.meta.url))
const samples = readdirSync(samplesDir)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
const minutes = (n: number) => n * 60_000
const suffix = randomBytes(3).toString("hex")
const namespaceOf = (file: string) => `sample-${file.replace(/-workspace\.yaml$|\.yaml$/u, "")}-${suffix}`.slice(0, 63)

/** The namespace of the Redis the external-redis sample names (`redis.team-data.svc`). */
const teamDataNamespace = "team-data"

/** What each sample's comment tells a user to create before applying it. */
const prepare: Record<string, (namespace: string) => Promise<void>> = {
  "external-database-workspace.yaml": async (namespace) => {
    const { url } = await externalPostgres(`${namespace}-db`)
    await ok(["create", "secret", "generic", "prefect-db", "-n", namespace, `--from-literal=connection-url=${url}`])
  },
  "external-redis-workspace.yaml": async (namespace) => {
    const password = await externalRedis(teamDataNamespace)
    await ok([
      "create",
      "secret",
      "generic",
      "team-redis",
      "-n",
      namespace,
      `--from-literal=redis-password=${password}`,
    ])
  },
  "multiple-pools-workspace.yaml": async (namespace) => {
    await ok(["create", "secret", "generic", "warehouse", "-n", namespace, "--from-literal=dsn=postgresql://etl@x/y"])
  },
}

/** What a sample's comment promises beyond Ready, checked once it is Ready. */
const verify: Record<string, (namespace: string) => Promise<void>> = {
  // Prefect keeps its messaging in the team's Redis, with the password from the Secret: keys appear in its db 0.
  "external-redis-workspace.yaml": async () => {
    await pollUntil(
      "Prefect writes to the team's Redis",
      async () => {
        const size = await kubectl([
          "exec",
          "-n",
          teamDataNamespace,
          "deploy/redis",
          "--",
          "redis-cli",
          "-n",
          "0",
          "DBSIZE",
        ])
        return size.code === 0 && Number(size.stdout.trim()) > 0 ? true : undefined
      },
      { timeoutMs: minutes(3), intervalMs: 3_000 },
    )
  },
}

describeOnRealNode("every sample, applied as its comment says, on the real node", () => {
  useRealNodeTurn()
  let identity: OperatorIdentity
  let operator: OperatorProcess
  const namespaces = samples.map(namespaceOf)
  const operatorNamespace = `samples-operator-${suffix}`

  beforeAll(async () => {
    for (const namespace of namespaces) await restrictedNamespace(namespace)
    // The operator as shipped, under the install's ClusterRole, for exactly these namespaces; its ServiceAccount
    // lives in a namespace of its own, which outlives the samples'.
    await ok(["create", "namespace", operatorNamespace])
    identity = await operatorIdentity(operatorNamespace)
    operator = await startOperatorProcess({
      kubeconfigPath: identity.kubeconfigPath,
      namespaces,
      logPath: join(sharedControlPlane().workDir, `samples-${suffix}-operator.log`),
    })
  }, minutes(5))

  afterAll(async () => {
    await operator?.stop()
    await identity?.remove()
    for (const namespace of [...namespaces, operatorNamespace]) {
      await kubectl(["delete", "namespace", namespace, `${namespace}-db`, "--ignore-not-found", "--wait=false"])
    }
    await kubectl(["delete", "namespace", teamDataNamespace, "--ignore-not-found", "--wait=false"])
  }, minutes(3))

  for (const file of samples) {
    it(
      `${file} reaches Ready`,
      async () => {
        const namespace = namespaceOf(file)
        const path = join(samplesDir, file)
        // A sample may bring what it needs (a Secret, a ServiceAccount, a PriorityClass) before its Workspace.
        const documents = parseAllDocuments(await readFile(path, "utf8")).map(
          (d) => d.toJS() as { kind: string; metadata: { name: string } },
        )
        const workspace = documents.find((d) => d.kind === "Workspace")
        if (workspace === undefined) return expect.fail(`${file} has no Workspace`)
        const name = workspace.metadata.name
        await prepare[file]?.(namespace)
        await ok(["apply", "-n", namespace, "-f", path])
        const waited = await kubectl(
          ["wait", "-n", namespace, "--for=condition=Ready", `workspace/${name}`, "--timeout=12m"],
          { timeoutMs: minutes(13) },
        )
        if (waited.code !== 0) {
          const state = await kubectl(["get", "workspace,pods,jobs,pvc,events", "-n", namespace, "-o", "wide"])
          const status = await kubectl(["get", "workspace", name, "-n", namespace, "-o", "jsonpath={.status}"])
          expect.fail(`${file} did not become Ready: ${waited.stderr}\n${status.stdout}\n${state.stdout}`)
        }
        await verify[file]?.(namespace)
        // Room for the next sample: its pods go with the namespace; what it brought outside a namespace goes too.
        await ok(["delete", "namespace", namespace, `${namespace}-db`, "--ignore-not-found", "--timeout=5m"])
        if (file === "external-redis-workspace.yaml")
          await ok(["delete", "namespace", teamDataNamespace, "--ignore-not-found", "--timeout=5m"])
        for (const d of documents.filter((d) => d.kind === "PriorityClass"))
          await ok(["delete", "priorityclass", d.metadata.name, "--ignore-not-found"])
      },
      minutes(20),
    )
  }
})
