// Every image the node tests run, as build-images.sh builds it: its config carries the documented interface, it
// imports into a real containerd under the name the planner emits, its main programs run, and what the planner's
// manifests rely on works (Postgres initialised as uid 999 with a password login, Redis answering as uid 999 on a
// read-only root, Prefect as uid 1001 on a read-only root) — including the official Prefect image's known failure:
// EXTRA_PIP_PACKAGES cannot install as uid 1001 on a read-only root filesystem.
//
// Containers run under `ctr run`, which takes the image's config (user, environment, working directory) but, given a
// command, replaces entrypoint and command both: the tests put the image's entrypoint in front themselves, and
// run as another user through setpriv (ctr has no --user), as the kubelet's runAsUser would.
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { chmod, chown, mkdir, readFile, readlink } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Defaults } from "@cartographer/schema"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { pollUntil } from "../../harness/network.js"
import { launch, logTail, type ManagedProcess, ownedTempDir } from "../../harness/processes.js"
import { type OciConfig, readArchive } from "./archive.js"
import { type Containerd, type CtrResult, missingPrerequisites, startContainerd } from "./containerd.js"
import { images, pauseReference, postgresMajor, prefectPins, previousPrefectImage, toolboxReference } from "./images.js"

const buildScript = fileURLToPath(new URL("./build-images.sh", import.meta.url))
const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
  version: string
}
const operatorReference = `docker.io/library/cartographer:${version}`
const reference = (short: string) => images.find((i) => i.short === short)?.reference ?? short

/** build-images.sh's `<reference>\t<archive>` lines; its progress goes to the test's stderr. */
const buildImages = () =>
  new Promise<Map<string, string>>((resolve, reject) => {
    const child = spawn("bash", [buildScript], { stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.once("error", reject)
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`${buildScript} failed with exit code ${code}`))
      const lines = stdout
        .trim()
        .split("\n")
        .map((l) => l.split("\t") as [string, string])
      resolve(new Map(lines))
    })
  })

let archives: Map<string, string>
let containerd: Containerd
let scratch: string
const configs = new Map<string, OciConfig["config"]>()
let sequence = 0

interface RunOptions {
  readonly env?: Readonly<Record<string, string>>
  /** host directory → container path, read-write. */
  readonly mounts?: Readonly<Record<string, string>>
  readonly readOnly?: boolean
  /** Run as this uid (and gid, and supplementary group), as runAsUser/runAsGroup/fsGroup would. */
  readonly user?: number
  readonly netns?: string
}

const ctrRunFlags = (options: RunOptions) => [
  ...(options.readOnly ? ["--read-only"] : []),
  ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
  ...Object.entries(options.mounts ?? {}).flatMap(([src, dst]) => [
    "--mount",
    `type=bind,src=${src},dst=${dst},options=rbind:rw`,
  ]),
  ...(options.netns ? ["--with-ns", `network:${options.netns}`] : []),
]

const asUser = (options: RunOptions, argv: ReadonlyArray<string>) =>
  options.user === undefined
    ? [...argv]
    : ["setpriv", `--reuid=${options.user}`, `--regid=${options.user}`, `--groups=${options.user}`, "--", ...argv]

/** The image's entrypoint followed by `args`, as a pod that sets only `args` runs. */
const withEntrypoint = (ref: string, args: ReadonlyArray<string>) => [...(configs.get(ref)?.Entrypoint ?? []), ...args]

/** Runs a container to its end; resolves with its exit code and output. */
const runToEnd = (ref: string, argv: ReadonlyArray<string>, options: RunOptions = {}): Promise<CtrResult> =>
  containerd.ctr(["run", "--rm", ...ctrRunFlags(options), ref, `t${++sequence}`, ...asUser(options, argv)])

const output = (result: CtrResult) => `${result.stdout}${result.stderr}`

/** Starts a container in the background; `exec` runs more processes in it, `stop` signals it and removes it. */
const start = async (ref: string, argv: ReadonlyArray<string>, options: RunOptions = {}) => {
  const id = `t${++sequence}`
  const log = join(scratch, `${id}.log`)
  const started = await containerd.ctr([
    "run",
    "-d",
    "--log-uri",
    `file://${log}`,
    ...ctrRunFlags(options),
    ref,
    id,
    ...asUser(options, argv),
  ])
  if (started.code !== 0) throw new Error(`ctr run ${ref}: ${output(started)}`)
  let execs = 0
  return {
    id,
    log,
    exec: (command: ReadonlyArray<string>) =>
      containerd.ctr(["tasks", "exec", "--exec-id", `${id}-${++execs}`, id, ...command]),
    running: async () =>
      / RUNNING/u.test(
        (await containerd.ctr(["tasks", "ls"])).stdout.split("\n").find((l) => l.startsWith(`${id} `)) ?? "",
      ),
    stop: async (signal = "SIGTERM") => {
      await containerd.ctr(["tasks", "kill", "-s", signal, id])
      await pollUntil(
        `${id} to stop`,
        async () => ((await containerd.ctr(["tasks", "delete", id])).code === 0 ? true : undefined),
        {
          timeoutMs: 30_000,
        },
      ).catch(async () => {
        await containerd.ctr(["tasks", "kill", "-s", "SIGKILL", id])
        await containerd.ctr(["tasks", "delete", id])
      })
      await containerd.ctr(["containers", "delete", id])
    },
  }
}

/** A directory for a volume: owned by root with group `gid`, group-writable and setgid, as fsGroup leaves it. */
const volume = async (name: string, gid: number, options: { owner?: number } = {}) => {
  const dir = join(scratch, name)
  await mkdir(dir, { recursive: true })
  await chown(dir, options.owner ?? 0, gid)
  await chmod(dir, 0o2775)
  return dir
}

describe("the images of the node tests", () => {
  beforeAll(async () => {
    const missing = missingPrerequisites()
    if (missing !== undefined) throw new Error(missing)
    archives = await buildImages()
    scratch = (await ownedTempDir("cartographer-images-test-")).dir
    containerd = await startContainerd()
    for (const [ref, archive] of archives) {
      const imported = await containerd.ctr(["images", "import", archive], 600_000)
      if (imported.code !== 0) throw new Error(`ctr images import ${archive}: ${output(imported)}`)
      configs.set(ref, (await readArchive(archive)).images[0]?.config.config ?? {})
    }
  }, 30 * 60_000)
  afterAll(async () => {
    await containerd?.stop()
  }, 120_000)

  it("are built for every name the planner emits by default, the sandbox image, the proof tests' toolbox, the operator's and the previous Prefect", () => {
    expect([...archives.keys()].sort()).toEqual(
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
    const listed = (await containerd.ctr(["images", "ls", "-q"])).stdout.split("\n").filter(Boolean)
    expect(listed.sort()).toEqual([...archives.keys()].sort())
  })

  describe("pause", () => {
    it("is /pause as nobody (65535)", () => {
      expect(configs.get(pauseReference)).toMatchObject({ User: "65535:65535", Entrypoint: ["/pause"] })
    })

    it("runs, and ends on SIGTERM (a PID 1 without a handler would ignore it)", async () => {
      expect(output(await runToEnd(pauseReference, ["/pause", "--version"]))).toContain("pause 3.10")
      const pause = await start(pauseReference, ["/pause"])
      await pollUntil("pause to run", async () => ((await pause.running()) ? true : undefined), { timeoutMs: 10_000 })
      const stopped = Date.now()
      await pause.stop("SIGTERM")
      expect(Date.now() - stopped).toBeLessThan(10_000)
    })
  })

  describe("prefect", () => {
    const flavours = [
      ["prefect", ["prefect-redis"]],
      ["prefect-kubernetes", ["prefect-redis", "prefect-kubernetes"]],
    ] as const

    it("have the official image's entrypoint, working directory, environment and no user", () => {
      for (const [short] of flavours) {
        const config = configs.get(reference(short))
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
        const python = await runToEnd(
          ref,
          withEntrypoint(ref, ["python", "-c", "import prefect; print(prefect.__version__)"]),
        )
        expect(python.stdout.trim().split("\n").at(-1)).toBe(prefectPins.prefect)
        const version = output(await runToEnd(ref, withEntrypoint(ref, ["prefect", "version"])))
        for (const integration of integrations) expect(version).toMatch(new RegExp(`${integration}:\\s+\\d`, "u"))
        expect(output(await runToEnd(ref, ["uv", "--version"]))).toContain(`uv ${prefectPins.uv}`)
        expect(output(await runToEnd(ref, ["git", "--version"]))).toMatch(/^git version 2\./mu)
      }
      const kubernetes = await runToEnd(reference("prefect-kubernetes"), [
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
        const dir = await volume(`${name}-${key}`, 1001, { owner: 1001 })
        mounts[dir] = target
      }
      return { mounts, env: { HOME: dirs.home, PREFECT_HOME: dirs.data } }
    }

    it("run `prefect version` as uid 1001 on a read-only root, with HOME, PREFECT_HOME and /tmp writable", async () => {
      const ref = reference("prefect")
      const { mounts, env } = await prefectScratch("version")
      const result = await runToEnd(ref, withEntrypoint(ref, ["prefect", "version"]), {
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
      const make = await runToEnd(
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
      const probe = withEntrypoint(ref, ["python", "-c", "import demo_pkg; print(demo_pkg.VALUE)"])

      const denied = await runToEnd(ref, probe, { user: 1001, readOnly: true, mounts, env: extra })
      expect(output(denied)).toContain(`+uv pip install /tmp/${wheel}`)
      expect(output(denied)).toMatch(/Read-only file system/u)
      expect(denied.code).not.toBe(0)

      const installed = await runToEnd(ref, probe, { mounts, env: extra })
      expect(installed.stdout.trim().split("\n").at(-1)).toBe("42")
      expect(installed.code).toBe(0)
    })
  })

  describe("postgres", () => {
    const ref = reference("postgres")

    it("has the official image's entrypoint, command, stop signal, port, PGDATA and PATH", () => {
      const config = configs.get(ref)
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
      expect(output(await runToEnd(ref, withEntrypoint(ref, ["postgres", "--version"])))).toMatch(
        new RegExp(`postgres \\(PostgreSQL\\) ${postgresMajor}\\.`, "u"),
      )
      for (const tool of ["psql", "pg_dump", "pg_restore", "pg_isready"]) {
        expect(output(await runToEnd(ref, [tool, "--version"]))).toMatch(
          new RegExp(`${tool} \\(PostgreSQL\\) ${postgresMajor}\\.`, "u"),
        )
      }
      const passwd = await runToEnd(ref, ["getent", "passwd", "postgres"])
      expect(passwd.stdout).toMatch(/^postgres:x:999:999:/u)
    })

    it("initialises an empty PGDATA as uid 999 and lets in the password, and only the password, from another host", async () => {
      // A network namespace of the test's own, where 192.0.2.10 (a documentation address) is the pod's address:
      // the server's own loopback is trusted by initdb's defaults, another address must give the password.
      const netns: ManagedProcess = launch("netns", "unshare", ["--net", "sleep", "600"], join(scratch, "netns.log"))
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
        const data = await volume("pgdata", 999)
        // containerd's `ctr run` puts a tmpfs on /run, which the kubelet's containers do not get: lend the socket
        // directory the image has there.
        const socketDir = await volume("pgrun", 999, { owner: 999 })
        const server = await start(ref, withEntrypoint(ref, ["postgres"]), {
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

  describe("redis", () => {
    const ref = reference("redis")

    it("has the official image's entrypoint, command, working directory and port", () => {
      expect(configs.get(ref)).toMatchObject({
        Entrypoint: ["docker-entrypoint.sh"],
        Cmd: ["redis-server"],
        WorkingDir: "/data",
        ExposedPorts: { "6379/tcp": {} },
      })
      expect(configs.get(ref)?.User ?? "").toBe("")
    })

    it("answers PING as uid 999 on a read-only root, started with the planner's arguments", async () => {
      const data = await volume("redis-data", 999)
      const args = ["--save", "", "--appendonly", "no", "--protected-mode", "no"]
      const server = await start(ref, withEntrypoint(ref, args), {
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
      const data = await volume("redis-root", 0)
      const server = await start(ref, withEntrypoint(ref, ["redis-server"]), { mounts: { [data]: "/data" } })
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

  describe("the operator", () => {
    it("runs its CLI as uid 1000 from the image's own settings", async () => {
      const cli = await runToEnd(operatorReference, ["node", "/app/cartographer.mjs", "version"])
      expect(cli.stdout.trim()).toBe(`cartographer ${version}`)
      const uid = await runToEnd(operatorReference, ["node", "-e", "console.log(process.getuid(), process.cwd())"])
      expect(uid.stdout.trim()).toBe("1000 /app")
    })
  })
})
