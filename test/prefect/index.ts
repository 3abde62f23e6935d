// The pinned Prefect 3 client of the end-to-end suites (they deploy and start flows with it, as a data scientist
// would from a laptop): `install.sh` builds the virtualenv once per version (cached under $CARTOGRAPHER_CACHE), this
// module runs it once per process and hands out its path.
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { run } from "../harness/processes.js"

const installScript = fileURLToPath(new URL("./install.sh", import.meta.url))

let installing: Promise<string> | undefined

/**
 * Resolves with the venv directory (`<venv>/bin/prefect`), installing it first when missing. The script's progress
 * goes to `progress` (default: this process's stderr).
 */
export const prefectVenv = (progress: (line: string) => void = (line) => process.stderr.write(`${line}\n`)) => {
  installing ??= run("bash", [installScript], {
    // A cold install takes minutes: no timeout of its own.
    timeoutMs: Number.POSITIVE_INFINITY,
    onStderr: (text) => {
      for (const line of text.split("\n")) if (line.startsWith("[prefect]")) progress(line)
    },
  }).then((result) => {
    const dir = result.stdout.trim().split("\n").at(-1)
    if (result.code === 0 && dir) return dir
    installing = undefined
    throw new Error(`${installScript} failed with exit code ${result.code}:\n${result.stderr.slice(-4000)}`)
  })
  return installing
}

/** `<venv>/bin/<tool>`. */
export const venvBin = (venv: string, tool: string) => join(venv, "bin", tool)
