// The Postgres image the planner's database StatefulSet runs: the official image's interface, the tools backups and
// probes use, and an empty PGDATA initialised as uid 999 that lets in the password, and only the password.
import { spawn } from "node:child_process"
import { readFile, readlink } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { pollUntil } from "../../harness/network.js"
import { launch, logTail, type ManagedProcess } from "../../harness/processes.js"
import { output, reference, useImageContainers } from "./imageContainers.js"
import { postgresMajor } from "./images.js"

const containers = useImageContainers((ref) => ref === reference("postgres"))

describe("the postgres image", () => {
  const ref = reference("postgres")

  it("has the official image's entrypoint, command, stop signal, port, PGDATA and PATH", () => {
    const config = containers.config(ref)
    expect(config).toMatchObject({
      Entrypoint: ["docker-entrypoint.sh"],
      Cmd: ["postgres"],
      StopSignal: "SIGINT",
      ExposedPorts: { "5432/tcp": {} },
      Volumes: { "/var/lib/postgresql/data": {} },
    })
    expect(config?.User ?? "").toBe("")
    expect(config?.Env).toContain("PGDATA=/var/lib/postgresql/data")
    expect(config?.Env?.find((e) => e.startsWith("PATH="))).toContain(`/usr/lib/postgresql/${postgresMajor}/bin`)
  })

  it("runs postgres, and has psql, pg_dump, pg_restore and pg_isready for backups and probes", async () => {
    expect(output(await containers.runToEnd(ref, containers.withEntrypoint(ref, ["postgres", "--version"])))).toMatch(
      new RegExp(`postgres \\(PostgreSQL\\) ${postgresMajor}\\.`, "u"),
    )
    for (const tool of ["psql", "pg_dump", "pg_restore", "pg_isready"]) {
      expect(output(await containers.runToEnd(ref, [tool, "--version"]))).toMatch(
        new RegExp(`${tool} \\(PostgreSQL\\) ${postgresMajor}\\.`, "u"),
      )
    }
    const passwd = await containers.runToEnd(ref, ["getent", "passwd", "postgres"])
    expect(passwd.stdout).toMatch(/^postgres:x:999:999:/u)
  })

  it("initialises an empty PGDATA as uid 999 and lets in the password, and only the password, from another host", async () => {
    // A network namespace of the test's own, where 192.0.2.10 (a documentation address) is the pod's address:
    // the server's own loopback is trusted by initdb's defaults, another address must give the password.
    const netns: ManagedProcess = launch(
      "netns",
      "unshare",
      ["--net", "sleep", "600"],
      join(containers.scratch(), "netns.log"),
    )
    try {
      const nsPath = `/proc/${netns.pid}/ns/net`
      // Until unshare has exec'd sleep, the path still leads to the machine's own namespace: never touch that one.
      const own = await readlink("/proc/self/ns/net")
      await pollUntil(
        "the test's network namespace",
        async () => {
          const comm = await readFile(`/proc/${netns.pid}/comm`, "utf8").catch(() => "")
          return comm.trim() === "sleep" && (await readlink(nsPath)) !== own ? true : undefined
        },
        { timeoutMs: 10_000 },
      )
      const configured = await new Promise<number>((resolve) =>
        spawn("nsenter", [`--net=${nsPath}`, "sh", "-c", "ip link set lo up && ip addr add 192.0.2.10/32 dev lo"], {
          stdio: "inherit",
        }).once("exit", (code) => resolve(code ?? 1)),
      )
      expect(configured).toBe(0)
      const data = await containers.volume("pgdata", 999)
      // containerd's `ctr run` puts a tmpfs on /run, which the kubelet's containers do not get: lend the socket
      // directory the image has there.
      const socketDir = await containers.volume("pgrun", 999, { owner: 999 })
      const server = await containers.start(ref, containers.withEntrypoint(ref, ["postgres"]), {
        user: 999,
        netns: nsPath,
        env: {
          POSTGRES_USER: "prefect",
          POSTGRES_PASSWORD: "s3cret",
          POSTGRES_DB: "prefect",
          PGDATA: "/var/lib/postgresql/data/pgdata",
        },
        mounts: { [data]: "/var/lib/postgresql/data", [socketDir]: "/var/run/postgresql" },
      })
      try {
        await pollUntil(
          "postgres to accept connections on 192.0.2.10",
          async () =>
            (await server.exec(["pg_isready", "-q", "-h", "192.0.2.10", "-U", "prefect", "-d", "prefect"])).code === 0
              ? true
              : undefined,
          { timeoutMs: 60_000, intervalMs: 500, describe: () => logTail(server.log) },
        )
        const login = (password: string) =>
          server.exec([
            "env",
            `PGPASSWORD=${password}`,
            "psql",
            "-h",
            "192.0.2.10",
            "-U",
            "prefect",
            "-d",
            "prefect",
            "-tAc",
            "select current_user",
          ])
        const right = await login("s3cret")
        expect(right.stdout.trim()).toBe("prefect")
        const wrong = await login("not-the-password")
        expect(wrong.code).not.toBe(0)
        expect(output(wrong)).toContain('password authentication failed for user "prefect"')
      } finally {
        await server.stop("SIGINT")
      }
    } finally {
      await netns.stop()
    }
  })
})
