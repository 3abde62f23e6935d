// The set of images the node tests run, as build-images.sh builds them: one for every name the planner emits by
// default and for the node's own needs, imported into a real containerd under exactly those names. What each image
// must do: pauseImage, prefectImage, postgresImage, redisImage and operatorImage (.it.test.ts) beside this file.
import { Defaults } from "@cartographer/schema"
import { describe, expect, it } from "vitest"
import { operatorReference, useImageContainers } from "./imageContainers.js"
import { pauseReference, previousPrefectImage, toolboxReference } from "./images.js"

describe("the images of the node tests", () => {
  const containers = useImageContainers()

  it("are built for every name the planner emits by default, the sandbox image, the proof tests' toolbox, the operator's and the previous Prefect", () => {
    expect([...containers.archives().keys()].sort()).toEqual(
      [
        pauseReference,
        toolboxReference,
        `docker.io/${previousPrefectImage}`,
        `docker.io/${Defaults.defaultPrefectImage}`,
        `docker.io/${Defaults.defaultKubernetesWorkerImage}`,
        `docker.io/library/${Defaults.defaultPostgresImage}`,
        `docker.io/library/${Defaults.defaultRedisImage}`,
        operatorReference,
      ].sort(),
    )
  })

  it("import into containerd under exactly those names", async () => {
    const listed = (await containers.containerd().ctr(["images", "ls", "-q"])).stdout.split("\n").filter(Boolean)
    expect(listed.sort()).toEqual([...containers.archives().keys()].sort())
  })
})
