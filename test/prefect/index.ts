// The pinned Prefect 3 of the local pod runner and the end-to-end suites: `install.sh` builds the virtualenv once
// per version (cached under $CARTOGRAPHER_CACHE), this module runs it once per process and hands out its path.
import { spawn } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The Prefect version of the venv; the runner maps `prefecthq/prefect:<this>-…` images to it. */
export const prefectVersion = "3.9.1"

const installScript = fileURLToPath(new URL("./install.sh", import.meta.url))

let installing: Promise<string> | undefined

/**
 * Resolves with the venv directory (`<venv>/bin/prefect`), installing it first when missing. The script's progress
 * goes to `progress` (default: this process's stderr).
 */
export const prefectVenv = (progress: (line: string) => void = (line) => process.stderr.write(`${line}\n`)) => {
  installing ??= new Promise<string>((resolve, reject) => {
    const child = spawn("bash", [installScript], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString()
      stderr += text
      for (const line of text.split("\n")) if (line.startsWith("[prefect]")) progress(line)
    })
    child.once("error", reject)
    child.once("exit", (code) => {
      const dir = stdout.trim().split("\n").at(-1)
      if (code === 0 && dir) resolve(dir)
      else {
        installing = undefined
        reject(new Error(`${installScript} failed with exit code ${code}:\n${stderr.slice(-4000)}`))
      }
    })
  })
  return installing
}

/** `<venv>/bin/<tool>`. */
export const venvBin = (venv: string, tool: string) => join(venv, "bin", tool)
