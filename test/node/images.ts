// The images the real node runs, built here (images/build-images.sh: no registry is reachable) and imported into
// the node's containerd under exactly the names the planner writes, so that `IfNotPresent` finds them.
import { fileURLToPath } from "node:url"
import { runScript } from "./binaries.js"
import { pauseReference, toolboxReference } from "./images/images.js"

export interface BuiltImage {
  /** The fully qualified reference the archive imports as (docker.io/library/postgres:17.6). */
  readonly name: string
  /** An OCI image archive. */
  readonly archive: string
}

export { pauseReference, toolboxReference }

const buildScript = fileURLToPath(new URL("./images/build-images.sh", import.meta.url))

/** Builds what is missing (cached by content) and lists the images with their archives: all, or those named. */
export const buildImages = async (only: ReadonlyArray<string> = []): Promise<ReadonlyArray<BuiltImage>> => {
  const out = await runScript(buildScript, only)
  return out
    .split("\n")
    .filter((line) => line.includes("\t"))
    .map((line) => {
      const [name = "", archive = ""] = line.split("\t")
      return { name, archive }
    })
}

/** Only what a node needs to run the proof tests' pods: the pause image and the toolbox. */
export const testImages = () => buildImages(["pause", "toolbox"])
