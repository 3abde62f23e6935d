// The image table (images.ts): the names the planner emits, the pins of the end-to-end suites' Prefect client, and the
// layers the images share.
import { readFile } from "node:fs/promises"
import { Defaults } from "@cartographer/schema"
import { describe, expect, it } from "vitest"
import { images, layersOf, prefectPins } from "./images.js"

const byShort = (short: string) => {
  const image = images.find((i) => i.short === short)
  if (image === undefined) throw new Error(`no image ${short}`)
  return image
}

describe("the node tests' images", () => {
  it("are named as containerd's CRI names the planner's default images", () => {
    expect(byShort("prefect").reference).toBe(`docker.io/${Defaults.defaultPrefectImage}`)
    expect(byShort("prefect-kubernetes").reference).toBe(`docker.io/${Defaults.defaultKubernetesWorkerImage}`)
    expect(byShort("postgres").reference).toBe(`docker.io/library/${Defaults.defaultPostgresImage}`)
    expect(byShort("redis").reference).toBe(`docker.io/library/${Defaults.defaultRedisImage}`)
  })

  it("pin Prefect and its integrations as test/prefect/install.sh does for the suites' Prefect client", async () => {
    const script = await readFile(new URL("../../prefect/install.sh", import.meta.url), "utf8")
    const pin = (name: string) => new RegExp(`^${name}=(\\S+)`, "mu").exec(script)?.[1]
    expect(pin("PREFECT_VERSION")).toBe(prefectPins.prefect)
    expect(pin("PREFECT_REDIS_VERSION")).toBe(prefectPins.prefectRedis)
    expect(pin("PREFECT_KUBERNETES_VERSION")).toBe(prefectPins.prefectKubernetes)
  })

  it("share one Debian layer (postgres, redis, prefect) and one Prefect layer (both flavours)", () => {
    const [debian] = layersOf(byShort("postgres"))
    for (const short of ["redis", "prefect", "prefect-kubernetes"]) expect(layersOf(byShort(short))[0]).toBe(debian)
    expect(layersOf(byShort("prefect"))[1]).toBe(layersOf(byShort("prefect-kubernetes"))[1])
    expect(layersOf(byShort("prefect"))).toHaveLength(3)
    expect(layersOf(byShort("pause"))).toHaveLength(1)
  })
})
