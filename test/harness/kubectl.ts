// kubectl as users run it: the same binary version as the control plane, against a given kubeconfig.
import { run } from "./processes.js"

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
export const runKubectl = async (
  binary: string,
  kubeconfigPath: string,
  args: ReadonlyArray<string>,
  options: KubectlOptions = {},
): Promise<KubectlResult> => {
  const result = await run(binary, [`--kubeconfig=${kubeconfigPath}`, ...args], {
    env: { ...process.env, KUBECONFIG: kubeconfigPath },
    input: options.input,
    timeoutMs: options.timeoutMs,
  })
  return { ...result, code: typeof result.code === "number" ? result.code : 128 }
}

/** Like `runKubectl` but rejects with kubectl's output when it fails. */
export const kubectlOk = async (...call: Parameters<typeof runKubectl>): Promise<string> => {
  const result = await runKubectl(...call)
  if (result.code !== 0)
    throw new Error(`kubectl ${call[2].join(" ")} exited ${result.code}: ${result.stderr}${result.stdout}`)
  return result.stdout
}
