// The Prefect images (the server's and workers', and the kubernetes workers'): the official image's interface, Prefect
// with its pinned integrations, running as uid 1001 on a read-only root, and the official image's known failure:
// EXTRA_PIP_PACKAGES cannot install as uid 1001 on a read-only root filesystem.
import { chown } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { output, reference, useImageContainers } from "./imageContainers.js"
import { prefectPins } from "./images.js"

const containers = useImageContainers((ref) => ref === reference("prefect") || ref === reference("prefect-kubernetes"))

describe("the prefect images", () => {
  const flavours = [
    ["prefect", ["prefect-redis"]],
    ["prefect-kubernetes", ["prefect-redis", "prefect-kubernetes"]],
  ] as const

  it("have the official image's entrypoint, working directory, environment and no user", () => {
    for (const [short] of flavours) {
      const config = containers.config(reference(short))
      expect(config?.Entrypoint).toEqual(["/usr/bin/tini", "-g", "--", "/opt/prefect/entrypoint.sh"])
      expect(config?.WorkingDir).toBe("/opt/prefect")
      expect(config?.User ?? "").toBe("")
      expect(config?.Cmd ?? []).toEqual([])
      for (const env of ["LANG=C.UTF-8", "LC_ALL=C.UTF-8", "UV_LINK_MODE=copy", "UV_SYSTEM_PYTHON=1"]) {
        expect(config?.Env).toContain(env)
      }
    }
  })

  it("run Prefect with its pinned integrations, uv and git", async () => {
    for (const [short, integrations] of flavours) {
      const ref = reference(short)
      const python = await containers.runToEnd(
        ref,
        containers.withEntrypoint(ref, ["python", "-c", "import prefect; print(prefect.__version__)"]),
      )
      expect(python.stdout.trim().split("\n").at(-1)).toBe(prefectPins.prefect)
      const version = output(await containers.runToEnd(ref, containers.withEntrypoint(ref, ["prefect", "version"])))
      for (const integration of integrations) expect(version).toMatch(new RegExp(`${integration}:\\s+\\d`, "u"))
      expect(output(await containers.runToEnd(ref, ["uv", "--version"]))).toContain(`uv ${prefectPins.uv}`)
      expect(output(await containers.runToEnd(ref, ["git", "--version"]))).toMatch(/^git version 2\./mu)
    }
    const kubernetes = await containers.runToEnd(reference("prefect-kubernetes"), [
      "python",
      "-c",
      "import importlib.metadata as m; print(m.version('prefect-kubernetes'))",
    ])
    expect(kubernetes.stdout.trim()).toBe(prefectPins.prefectKubernetes)
  })

  const prefectScratch = async (name: string) => {
    const dirs = { home: "/home/prefect", tmp: "/tmp", data: "/var/lib/prefect" }
    const mounts: Record<string, string> = {}
    for (const [key, target] of Object.entries(dirs)) {
      const dir = await containers.volume(`${name}-${key}`, 1001, { owner: 1001 })
      mounts[dir] = target
    }
    return { mounts, env: { HOME: dirs.home, PREFECT_HOME: dirs.data } }
  }

  it("run `prefect version` as uid 1001 on a read-only root, with HOME, PREFECT_HOME and /tmp writable", async () => {
    const ref = reference("prefect")
    const { mounts, env } = await prefectScratch("version")
    const result = await containers.runToEnd(ref, containers.withEntrypoint(ref, ["prefect", "version"]), {
      user: 1001,
      readOnly: true,
      mounts,
      env,
    })
    expect(output(result)).toContain(`Version:              ${prefectPins.prefect}`)
    expect(result.code).toBe(0)
  })

  it("install EXTRA_PIP_PACKAGES as root, and fail to as uid 1001 on a read-only root (as the official image does)", async () => {
    const ref = reference("prefect")
    const { mounts, env } = await prefectScratch("extra")
    const tmp = Object.entries(mounts).find(([, target]) => target === "/tmp")?.[0] ?? ""
    // A wheel on the volume: the install needs no network, only a writable site-packages.
    const wheel = "demo_pkg-1.0-py3-none-any.whl"
    const make = await containers.runToEnd(
      ref,
      [
        "python",
        "-c",
        [
          "import zipfile",
          `z = zipfile.ZipFile('/tmp/${wheel}', 'w')`,
          "z.writestr('demo_pkg/__init__.py', 'VALUE = 42\\n')",
          "z.writestr('demo_pkg-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: 1.0\\n')",
          "z.writestr('demo_pkg-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')",
          "z.writestr('demo_pkg-1.0.dist-info/RECORD', '')",
          "z.close()",
        ].join("\n"),
      ],
      { mounts: { [tmp]: "/tmp" } },
    )
    expect(make.code).toBe(0)
    await chown(join(tmp, wheel), 1001, 1001)
    const extra = { ...env, EXTRA_PIP_PACKAGES: `/tmp/${wheel}` }
    const probe = containers.withEntrypoint(ref, ["python", "-c", "import demo_pkg; print(demo_pkg.VALUE)"])

    const denied = await containers.runToEnd(ref, probe, { user: 1001, readOnly: true, mounts, env: extra })
    expect(output(denied)).toContain(`+uv pip install /tmp/${wheel}`)
    expect(output(denied)).toMatch(/Read-only file system/u)
    expect(denied.code).not.toBe(0)

    const installed = await containers.runToEnd(ref, probe, { mounts, env: extra })
    expect(installed.stdout.trim().split("\n").at(-1)).toBe("42")
    expect(installed.code).toBe(0)
  })
})
