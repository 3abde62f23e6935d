// Where the control plane binaries come from, in envtest's order: TEST_ASSET_<NAME> per binary, then
// $KUBEBUILDER_ASSETS/<name>, then whatever test/controlplane/build-binaries.sh builds (or finds cached).
import { spawn } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * "api": etcd + kube-apiserver. "cluster": + kube-controller-manager, kube-scheduler and kwok's fake nodes (pods
 * become Running, nothing runs). "node": the cluster plus one real node (test/node) whose pods do run.
 */
export type Tier = "api" | "cluster" | "node"

export const binaryNames = {
  api: ["etcd", "kube-apiserver", "kubectl"],
  cluster: ["etcd", "kube-apiserver", "kubectl", "kube-controller-manager", "kube-scheduler", "kwok"],
  // The node's own binaries are built by test/node/build-node-binaries.sh.
  node: ["etcd", "kube-apiserver", "kubectl", "kube-controller-manager", "kube-scheduler", "kwok"],
} as const

export type BinaryName = (typeof binaryNames)["cluster"][number]
export type Binaries = Readonly<Partial<Record<BinaryName, string>>> & { readonly binDir: string }

const buildScript = fileURLToPath(new URL("../controlplane/build-binaries.sh", import.meta.url))

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const fromEnv = (name: BinaryName): string | undefined => {
  const explicit = process.env[`TEST_ASSET_${name.toUpperCase().replaceAll("-", "_")}`]
  if (explicit) return explicit
  const assets = process.env.KUBEBUILDER_ASSETS
  if (assets && executable(join(assets, name))) return join(assets, name)
  return undefined
}

// The build prints progress on stderr (passed through, it can take half an hour cold) and the bin dir last.
const build = (tier: Tier): Promise<string> =>
  new Promise((resolve, reject) => {
    const env = { ...process.env }
    delete env.KUBEBUILDER_ASSETS // it would make the script only check that directory
    const child = spawn("bash", [buildScript, "--tier", tier === "node" ? "cluster" : tier], {
      stdio: ["ignore", "pipe", "inherit"],
      env,
    })
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.once("error", reject)
    child.once("exit", (code) => {
      const dir = stdout.trim().split("\n").at(-1)
      if (code === 0 && dir) resolve(dir)
      else reject(new Error(`${buildScript} --tier ${tier} failed with exit code ${code}`))
    })
  })

export const findBinaries = async (tier: Tier): Promise<Binaries> => {
  const found = new Map<BinaryName, string>()
  for (const name of binaryNames[tier]) {
    const path = fromEnv(name)
    if (path) found.set(name, path)
  }
  const missing = binaryNames[tier].filter((name) => !found.has(name))
  let binDir = process.env.KUBEBUILDER_ASSETS ?? dirname(found.get("kube-apiserver") ?? ".")
  if (missing.length > 0) {
    binDir = await build(tier)
    for (const name of missing) found.set(name, join(binDir, name))
  }
  for (const [name, path] of found) {
    if (!executable(path)) throw new Error(`control plane binary ${name} is not executable at ${path}`)
  }
  return { ...Object.fromEntries(found), binDir }
}

/** The path of a binary that `findBinaries` must have found for this tier. */
export const binary = (binaries: Binaries, name: BinaryName): string => {
  const path = binaries[name]
  if (path === undefined) throw new Error(`control plane binary ${name} was not looked up for this tier`)
  return path
}
