import { describe, expect, it } from "vitest"
import { extraPackagesDir } from "../src/plan/extraPackages.js"
import { plan } from "../src/plan/planner.js"
import { container, envOf, find, nothing, ws } from "./fixtures.js"

const agent = (pool: string) => `test-environment-agent-${pool}`
const podOf = (pools: ReadonlyArray<Record<string, unknown>>, name = "default") =>
  find(plan(ws({ agentPools: pools }), nothing), "Deployment", agent(name)).spec.template.spec

describe("EXTRA_PIP_PACKAGES on a pool", () => {
  it("is installed by an init container of the same image into a volume the worker finds on PYTHONPATH", () => {
    const pod = podOf([{ name: "default", env: [{ name: "EXTRA_PIP_PACKAGES", value: "cowsay==6.1 pyjokes" }] }])
    const worker = pod.containers[0]
    const init = pod.initContainers?.find((c) => c.name === "extra-pip-packages")
    if (worker === undefined || init === undefined) throw new Error("no worker or no install container")
    // The entrypoint never sees the variable: its `uv pip install --system` fails on a read-only root as uid 1001.
    expect(envOf(worker).EXTRA_PIP_PACKAGES).toBeUndefined()
    expect(envOf(init).EXTRA_PIP_PACKAGES).toBeUndefined()
    expect(envOf(init).CARTOGRAPHER_EXTRA_PIP_PACKAGES).toBe("cowsay==6.1 pyjokes")
    expect(envOf(worker).PYTHONPATH).toBe(extraPackagesDir)
    expect(init.image).toBe(worker.image)
    expect(init.securityContext).toEqual(worker.securityContext)
    expect(init.securityContext.readOnlyRootFilesystem).toBe(true)
    const volumeAt = (c: typeof worker) => c.volumeMounts?.find((m) => m.mountPath === extraPackagesDir)?.name
    expect(volumeAt(init)).toBeDefined()
    expect(volumeAt(worker)).toBe(volumeAt(init))
    expect(pod.volumes?.find((v) => v.name === volumeAt(worker))?.emptyDir).toEqual({})
    // uv's cache and the constraints go to the writable /tmp.
    expect(init.volumeMounts?.some((m) => m.mountPath === "/tmp")).toBe(true)
    expect(init.args?.join(" ")).toContain(`--target ${extraPackagesDir} --constraint`)
  })

  it("keeps a Secret reference, the pool's other variables (an index URL) and a PYTHONPATH of the user's", () => {
    const pod = podOf([
      {
        name: "default",
        env: [
          { name: "UV_INDEX_URL", value: "http://pypi.internal/simple" },
          { name: "PYTHONPATH", value: "/opt/flows" },
          { name: "EXTRA_PIP_PACKAGES", valueFrom: { secretKeyRef: { name: "deps", key: "packages" } } },
        ],
      },
    ])
    const init = pod.initContainers?.find((c) => c.name === "extra-pip-packages")
    const worker = pod.containers[0]
    if (worker === undefined || init === undefined) throw new Error("no worker or no install container")
    expect(envOf(init).CARTOGRAPHER_EXTRA_PIP_PACKAGES).toEqual({ secretKeyRef: { name: "deps", key: "packages" } })
    expect(envOf(init).UV_INDEX_URL).toBe("http://pypi.internal/simple")
    expect(envOf(worker).PYTHONPATH).toBe(`${extraPackagesDir}:/opt/flows`)
    expect(worker.env?.filter((e) => e.name === "PYTHONPATH")).toHaveLength(1)
  })

  it("installs with the pool's envFrom too (an index's credentials), and keeps the pool's own volumes", () => {
    const pod = podOf([
      {
        name: "default",
        env: [{ name: "EXTRA_PIP_PACKAGES", value: "cowsay" }],
        envFrom: [{ secretRef: { name: "index-credentials" } }],
        volumes: [{ name: "settings", configMap: { name: "flow-settings" } }],
        volumeMounts: [{ name: "settings", mountPath: "/etc/flows" }],
      },
    ])
    const init = pod.initContainers?.find((c) => c.name === "extra-pip-packages")
    const worker = pod.containers[0]
    if (worker === undefined || init === undefined) throw new Error("no worker or no install container")
    expect(init.envFrom).toEqual([{ secretRef: { name: "index-credentials" } }])
    expect(worker.volumeMounts?.map((m) => m.mountPath)).toEqual(
      expect.arrayContaining(["/etc/flows", extraPackagesDir]),
    )
    expect(pod.volumes?.map((v) => v.name)).toEqual(expect.arrayContaining(["settings", "extra-packages"]))
  })

  it("reaches neither a kubernetes pool's template container nor a pool that does not ask for it", () => {
    const pod = podOf(
      [{ name: "jobs", type: "kubernetes", env: [{ name: "EXTRA_PIP_PACKAGES", value: "cowsay" }] }],
      "jobs",
    )
    expect(pod.initContainers?.map((c) => c.name)).toEqual(["extra-pip-packages", "base-job-template"])
    // The template's containers run the image's entrypoint too: with the variable they would crash-loop.
    for (const c of [...(pod.initContainers ?? []), ...pod.containers])
      expect(envOf(c).EXTRA_PIP_PACKAGES).toBeUndefined()
    expect(pod.containers.map((c) => c.name)).toEqual(["agent", "job-template-sync"])
    const plain = podOf([{ name: "default" }])
    expect(plain.initContainers).toBeUndefined()
    expect(envOf(container({ spec: { template: { spec: plain } } } as never)).PYTHONPATH).toBeUndefined()
    expect(plain.volumes?.map((v) => v.name)).not.toContain("extra-packages")
  })
})
