// CRD installation the way users do it (kubectl apply, then wait for Established), one file at a time so that
// one rejected CRD does not hide whether the others are fine.
import { kubectlOk, runKubectl } from "./kubectl.js"

export interface CrdFailure {
  readonly file: string
  /** kubectl's message, e.g. the API server's validation error. */
  readonly message: string
}

export const installCrds = async (
  kubectlPath: string,
  kubeconfigPath: string,
  files: ReadonlyArray<string>,
  timeoutMs: number,
  onFailure: "throw" | "report",
): Promise<ReadonlyArray<CrdFailure>> => {
  const failures: CrdFailure[] = []
  for (const file of files) {
    try {
      await kubectlOk(kubectlPath, kubeconfigPath, ["apply", "--server-side", "--force-conflicts", "-f", file])
      await waitEstablished(kubectlPath, kubeconfigPath, file, timeoutMs)
    } catch (error) {
      if (onFailure === "throw") throw error
      failures.push({ file, message: error instanceof Error ? error.message : String(error) })
    }
  }
  return failures
}

/**
 * `kubectl wait --for=condition=Established`, again while the CRD has no conditions yet: right after the apply the API
 * server may still return `status.conditions: null`, which kubectl 1.36's wait reports as an error ("accessor error:
 * <nil> is of the type <nil>") instead of waiting.
 */
const waitEstablished = async (kubectlPath: string, kubeconfigPath: string, file: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = Math.max(1, Math.round((deadline - Date.now()) / 1000))
    const args = ["wait", "--for=condition=Established", `--timeout=${left}s`, "-f", file]
    const result = await runKubectl(kubectlPath, kubeconfigPath, args, { timeoutMs: left * 1000 + 10_000 })
    if (result.code === 0) return
    const output = `${result.stderr}${result.stdout}`
    if (!output.includes("accessor error") || Date.now() >= deadline)
      throw new Error(`kubectl ${args.join(" ")} exited ${result.code}: ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
