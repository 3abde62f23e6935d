// kubectl as users run it: the same binary version as the control plane, against a given kubeconfig.
import { spawn } from "node:child_process"

export interface KubectlResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface KubectlOptions {
  /** Fed to stdin, e.g. a manifest for `apply -f -`. */
  readonly input?: string
  readonly timeoutMs?: number
}

/** Runs kubectl; never rejects on a non-zero exit (tests assert on rejections), only when it cannot run at all. */
export const runKubectl = (
  binary: string,
  kubeconfigPath: string,
  args: ReadonlyArray<string>,
  options: KubectlOptions = {},
): Promise<KubectlResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(binary, [`--kubeconfig=${kubeconfigPath}`, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
      timeout: options.timeoutMs ?? 60_000,
      killSignal: "SIGKILL",
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.once("error", reject)
    child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }))
    // kubectl may exit before reading its input (a usage error, a bad kubeconfig): its exit code and stderr tell
    // what happened, so the broken pipe is not an error of its own.
    child.stdin.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") reject(error)
    })
    child.stdin.end(options.input ?? "")
  })

/** Like `runKubectl` but rejects with kubectl's output when it fails. */
export const kubectlOk = async (
  binary: string,
  kubeconfigPath: string,
  args: ReadonlyArray<string>,
  options: KubectlOptions = {},
): Promise<string> => {
  const result = await runKubectl(binary, kubeconfigPath, args, options)
  if (result.code !== 0)
    throw new Error(`kubectl ${args.join(" ")} exited ${result.code}: ${result.stderr}${result.stdout}`)
  return result.stdout
}
