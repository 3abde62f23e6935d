// CRD installation the way users do it (kubectl apply, then wait for Established), one file at a time so that
// one rejected CRD does not hide whether the others are fine.
import { kubectlOk } from "./kubectl.js"

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
      const wait = ["wait", "--for=condition=Established", `--timeout=${Math.round(timeoutMs / 1000)}s`, "-f", file]
      await kubectlOk(kubectlPath, kubeconfigPath, wait, { timeoutMs: timeoutMs + 10_000 })
    } catch (error) {
      if (onFailure === "throw") throw error
      failures.push({ file, message: error instanceof Error ? error.message : String(error) })
    }
  }
  return failures
}
