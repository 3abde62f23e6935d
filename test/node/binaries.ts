// The node's binaries built from Go modules by build-node-binaries.sh (cached by version), and the images built
// here by images/build-images.sh (cached by content). Both scripts print progress on stderr (passed through: cold
// builds take minutes) and their result on stdout.
import { spawn } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export interface NodeBinaries {
  readonly kubelet: string
  readonly kubeProxy: string
  readonly coredns: string
  readonly kubeRouter: string
}

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export const runScript = (path: string, args: ReadonlyArray<string> = []): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn("bash", [path, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.once("error", reject)
    child.once("exit", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${path} ${args.join(" ")} failed with exit code ${code}`)),
    )
  })

export const findNodeBinaries = async (): Promise<NodeBinaries> => {
  const bin = (await runScript(script("./build-node-binaries.sh"))).trim().split("\n").at(-1) ?? ""
  return {
    kubelet: join(bin, "kubelet"),
    kubeProxy: join(bin, "kube-proxy"),
    coredns: join(bin, "coredns"),
    kubeRouter: join(bin, "kube-router"),
  }
}
