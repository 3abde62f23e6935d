// vitest global setup of the `integration` project: ONE control plane per run (tier from
// $CARTOGRAPHER_TEST_TIER, default "node": the cluster plus a real node, see test/node), with the project's CRDs from install/crd/ installed and
// Established before any test starts (a rejected CRD is reported to the tests, see crdFailures). Suites isolate themselves by namespace (see useNamespace).
import { readdir } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"
import { missingNodePrerequisites } from "../node/prerequisites.js"
import { kubeconfigEnv } from "./context.js"
import { type ControlPlane, startControlPlane, type Tier } from "./controlPlane.js"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`

const tierFromEnv = (): Tier => {
  const tier = process.env.CARTOGRAPHER_TEST_TIER ?? "node"
  if (tier !== "api" && tier !== "cluster" && tier !== "node")
    throw new Error(`CARTOGRAPHER_TEST_TIER must be api, cluster or node, not ${tier}`)
  return tier
}

// $CARTOGRAPHER_TEST_CRD_DIR tries candidate CRDs without touching install/crd/.
const projectCrds = async (): Promise<ReadonlyArray<string>> => {
  const dir = process.env.CARTOGRAPHER_TEST_CRD_DIR ?? join(repoRoot, "install", "crd")
  const names = await readdir(dir).catch(() => [])
  return names.filter((n) => n.endsWith(".yaml") || n.endsWith(".yml")).map((n) => join(dir, n))
}

// Peak memory is sampled while the run goes on (VmHWM of each process), and reported at teardown.
const reportMemory = async (controlPlane: ControlPlane) => {
  const stats = await controlPlane.processStats()
  const sum = stats.reduce((total, s) => total + s.peakRssBytes, 0)
  const each = stats.map((s) => `${s.name} ${mib(s.peakRssBytes)}`).join(", ")
  process.stderr.write(`[controlplane] peak RSS ${mib(sum)} (sum of per-process peaks: ${each})\n`)
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const crds = await projectCrds()
  const wanted = tierFromEnv()
  // A machine that cannot run the real node still runs every other suite; those that need the node fail with
  // this one line (see useRealNode).
  const realNodeUnavailable = wanted === "node" ? missingNodePrerequisites() : undefined
  if (realNodeUnavailable !== undefined) process.stderr.write(`[controlplane] NO REAL NODE: ${realNodeUnavailable}\n`)
  const tier = realNodeUnavailable === undefined ? wanted : "cluster"
  const controlPlane = await startControlPlane({ tier, crds, onCrdFailure: "report" })
  for (const failure of controlPlane.crdFailures) {
    process.stderr.write(`[controlplane] CRD NOT INSTALLED: ${failure.file}\n${failure.message}\n`)
  }
  project.provide("cartographerControlPlane", {
    tier: controlPlane.tier,
    apiServerUrl: controlPlane.apiServerUrl,
    kubeconfigPath: controlPlane.kubeconfigPath,
    kubectlPath: controlPlane.kubectlPath,
    binDir: controlPlane.binDir,
    auditLogPath: controlPlane.auditLogPath,
    caFile: controlPlane.caFile,
    workDir: controlPlane.workDir,
    nodeNames: controlPlane.nodeNames,
    ...(controlPlane.realNode === undefined
      ? {
          realNodeUnavailable:
            realNodeUnavailable ??
            `CARTOGRAPHER_TEST_TIER=${wanted}: this run has no real node (the default tier, node, has)`,
        }
      : {
          realNode: {
            name: controlPlane.realNode.name,
            nodeIp: controlPlane.realNode.addresses.nodeIp,
            hostIp: controlPlane.realNode.addresses.hostIp,
            podCidr: controlPlane.realNode.addresses.podCidr,
            dir: controlPlane.realNode.dir,
          },
        }),
    crds,
    crdFailures: controlPlane.crdFailures,
  })
  process.env[kubeconfigEnv] = controlPlane.kubeconfigPath
  return async () => {
    await reportMemory(controlPlane).catch(() => undefined)
    await controlPlane.stop()
  }
}
