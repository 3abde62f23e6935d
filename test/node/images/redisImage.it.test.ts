// The Redis image of the server's HA mode: the official image's interface, answering as uid 999 on a read-only root
// with the planner's arguments, and dropping root to the redis user.
import { describe, expect, it } from "vitest"
import { pollUntil } from "../../harness/network.js"
import { reference, useImageContainers } from "./imageContainers.js"

const containers = useImageContainers((ref) => ref === reference("redis"))

describe("the redis image", () => {
  const ref = reference("redis")

  it("has the official image's entrypoint, command, working directory and port", () => {
    expect(containers.config(ref)).toMatchObject({
      Entrypoint: ["docker-entrypoint.sh"],
      Cmd: ["redis-server"],
      WorkingDir: "/data",
      ExposedPorts: { "6379/tcp": {} },
    })
    expect(containers.config(ref)?.User ?? "").toBe("")
  })

  it("answers PING as uid 999 on a read-only root, started with the planner's arguments", async () => {
    const data = await containers.volume("redis-data", 999)
    const args = ["--save", "", "--appendonly", "no", "--protected-mode", "no"]
    const server = await containers.start(ref, containers.withEntrypoint(ref, args), {
      user: 999,
      readOnly: true,
      mounts: { [data]: "/data" },
    })
    try {
      const pong = await pollUntil(
        "redis to answer",
        async () => {
          const r = await server.exec(["redis-cli", "ping"])
          return r.stdout.includes("PONG") ? r.stdout.trim() : undefined
        },
        { timeoutMs: 30_000, intervalMs: 300 },
      )
      expect(pong).toBe("PONG")
    } finally {
      await server.stop()
    }
  })

  it("started as root, runs redis-server as the redis user (999) with protected mode off", async () => {
    const data = await containers.volume("redis-root", 0)
    const server = await containers.start(ref, containers.withEntrypoint(ref, ["redis-server"]), {
      mounts: { [data]: "/data" },
    })
    try {
      await pollUntil(
        "redis to answer",
        async () => ((await server.exec(["redis-cli", "ping"])).stdout.includes("PONG") ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 300 },
      )
      expect((await server.exec(["grep", "^Uid:", "/proc/1/status"])).stdout).toMatch(/^Uid:\s+999\s+999/u)
      expect((await server.exec(["redis-cli", "config", "get", "protected-mode"])).stdout).toContain("no")
    } finally {
      await server.stop()
    }
  })
})
