// A suite's own running operator: the bundled `cartographer run` under the install's ClusterRole (as its
// ServiceAccount), reconciling the suite's namespace only, and a volume for a Workspace's database claim, so that
// samples/basic-workspace.yaml converges to Ready on kwok's nodes (tier cluster or node; kwok makes the pods Running
// and Ready and runs the migration Job to completion).
import { kubectl, type OperatorIdentity, operatorIdentity, preboundVolume } from "@cartographer/test/harness"
import { afterAll, beforeAll } from "vitest"
import { type Bundle, buildBundle, type RunningCli, startCli } from "./processes.js"

export interface RunningOperator {
  /** The operator process (its JSON log lines included). */
  readonly cli: () => RunningCli
  /** Lets the database of Workspace `workspace` start: a volume pre-bound to its claim, removed after the suite. */
  readonly provideVolume: (workspace: string) => Promise<void>
}

/** Starts the operator for `namespace` before the file's tests and stops it after them. */
export const useOperator = (namespace: string): RunningOperator => {
  let bundle: Bundle | undefined
  let identity: OperatorIdentity | undefined
  let cli: RunningCli | undefined
  const volumes: Array<string> = []

  beforeAll(async () => {
    bundle = await buildBundle()
    identity = await operatorIdentity(namespace)
    cli = startCli(bundle.path, `operator-${namespace}`, [
      "run",
      `--kubeconfig=${identity.kubeconfigPath}`,
      `--namespaces=${namespace}`,
      "--no-leader-elect",
      "--health-probe-bind-address=127.0.0.1:0",
      "--metrics-bind-address=0",
    ])
    await cli.waitForLog(
      (l) => l.msg === "starting the reconcile workers (leader election disabled)",
      120_000,
      "the reconcile workers",
    )
  }, 180_000)

  afterAll(async () => {
    await cli?.stop("SIGTERM")
    await identity?.remove()
    await bundle?.remove()
    if (volumes.length > 0) await kubectl(["delete", "persistentvolume", ...volumes, "--ignore-not-found"])
  })

  return {
    cli: () => {
      if (cli === undefined) throw new Error("the operator runs inside the file's tests only")
      return cli
    },
    provideVolume: async (workspace) => {
      const name = `pv-${namespace}-${workspace}`.slice(0, 253)
      const volume = preboundVolume({ name, namespace, claim: `${workspace}-orion-database-pvc`, path: `/tmp/${name}` })
      const applied = await kubectl(["apply", "-f", "-"], { input: JSON.stringify(volume) })
      if (applied.code !== 0) throw new Error(`kubectl apply PersistentVolume ${name}: ${applied.stderr}`)
      volumes.push(name)
    },
  }
}
