// The images the real node runs, built here (images/build-images.sh: no registry is reachable) and imported into
// the node's containerd under exactly the names the planner writes, so that `IfNotPresent` finds them.
import { fileURLToPath } from "node:url"
import { runScript } from "./binaries.js"
import { sandboxImage } from "./containerd.js"
import { run } from "./sandbox.js"

export interface BuiltImage {
  /** The fully qualified name, as the CRI normalises it (docker.io/library/postgres:17.6). */
  readonly name: string
  /** An OCI or docker image archive. */
  readonly archive: string
}

/** The image of the node's own proof tests: a static busybox (sh, id, wget, httpd, …). */
export const toolboxImage = "cartographer.test/toolbox:1"

/** Only what a node needs to run the proof tests' pods: the pause image and the toolbox. */
export const testImages = async (): Promise<ReadonlyArray<BuiltImage>> =>
  (await buildImages()).filter((i) => i.name === sandboxImage || i.name === toolboxImage)

const buildScript = fileURLToPath(new URL("./images/build-images.sh", import.meta.url))

/** Builds what is missing (cached by content) and lists every image with its archive. */
export const buildImages = async (): Promise<ReadonlyArray<BuiltImage>> => {
  const out = await runScript(buildScript)
  return out
    .split("\n")
    .filter((line) => line.includes("\t"))
    .map((line) => {
      const [name = "", archive = ""] = line.split("\t")
      return { name, archive }
    })
}

/** Imports the archives into containerd's `k8s.io` namespace (the CRI's), unpacked for its snapshotter. */
export const importImages = async (socket: string, images: ReadonlyArray<BuiltImage>): Promise<void> => {
  for (const image of images) {
    await run("ctr", [
      "--address",
      socket,
      "--namespace",
      "k8s.io",
      "images",
      "import",
      "--no-unpack=false",
      image.archive,
    ])
  }
}
