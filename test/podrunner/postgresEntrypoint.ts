// The postgres image's docker-entrypoint.sh, for `postgres …` containers: on an empty PGDATA it runs initdb with
// POSTGRES_USER (default postgres) and POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
// POSTGRES_INITDB_ARGS, allows host connections with POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), creates
// POSTGRES_DB before the server listens (so that clients never see a half-made database), then starts the server.
//
// Differences from the image, all deliberate: the server is Debian's (one major version for every postgres tag);
// it listens on the pod's address instead of `*`, with its Unix socket in the pod's directory; when the runner is
// root it runs as Debian's `postgres` user (Postgres refuses root; the image would run as uid 999); no
// /docker-entrypoint-initdb.d scripts.
import { execFile, spawn } from "node:child_process"
import { appendFile, chown, mkdir, readdir, writeFile } from "node:fs/promises"
import { userInfo } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

export interface PostgresUser {
  readonly uid: number
  readonly gid: number
}

/** The user Postgres runs as: the runner's own, or Debian's `postgres` when the runner is root. */
export const postgresUser = async (): Promise<PostgresUser | undefined> => {
  if (process.getuid?.() !== 0) return undefined
  const { stdout } = await run("getent", ["passwd", "postgres"]).catch(() => ({ stdout: "" }))
  const [, , uid, gid] = stdout.trim().split(":")
  if (uid === undefined || gid === undefined) {
    throw new Error(
      "the runner is root and there is no `postgres` user to run PostgreSQL as (apt-get install postgresql)",
    )
  }
  return { uid: Number(uid), gid: Number(gid) }
}

export interface PostgresStart {
  readonly binDir: string
  readonly env: Readonly<Record<string, string>>
  /** Arguments after `postgres`. */
  readonly args: ReadonlyArray<string>
  readonly podIp: string
  readonly socketDir: string
  /** Directories to hand to the postgres user (the container's volume mounts). */
  readonly ownedDirs: ReadonlyArray<string>
  readonly user: PostgresUser | undefined
  readonly log: (line: string) => void
}

const asUser = (user: PostgresUser | undefined, command: string, args: ReadonlyArray<string>) =>
  user
    ? {
        command: "setpriv",
        args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", command, ...args],
      }
    : { command, args: [...args] }

/** Prepares PGDATA (initialising it when empty) and returns the server's command line. */
export const preparePostgres = async (start: PostgresStart): Promise<{ command: string; args: Array<string> }> => {
  const { env, user, binDir } = start
  const pgdata = env.PGDATA ?? "/var/lib/postgresql/data"
  const port = env.PGPORT ?? "5432"
  await mkdir(start.socketDir, { recursive: true, mode: 0o755 })
  if (user) {
    await chown(start.socketDir, user.uid, user.gid)
    for (const dir of start.ownedDirs) await chown(dir, user.uid, user.gid).catch(() => undefined)
  }
  await mkdir(pgdata, { recursive: true, mode: 0o700 })
  if (user) await chown(pgdata, user.uid, user.gid)

  const exec = (command: string, args: ReadonlyArray<string>, input = "") =>
    new Promise<void>((resolve, reject) => {
      const { command: c, args: a } = asUser(user, join(binDir, command), args)
      const child = spawn(c, a, { env: { ...env, PGPORT: port }, cwd: start.socketDir, stdio: "pipe" })
      let output = ""
      const collect = (chunk: Buffer) => {
        output += chunk.toString()
      }
      child.stdout.on("data", collect)
      child.stderr.on("data", collect)
      child.once("error", reject)
      child.once("close", (code) => {
        for (const line of output.split("\n")) if (line) start.log(line)
        if (code === 0) resolve()
        else reject(new Error(`${command} exited with ${code}`))
      })
      child.stdin.end(input)
    })

  const initialised = (await readdir(pgdata)).includes("PG_VERSION")
  if (!initialised) {
    const superuser = env.POSTGRES_USER || "postgres"
    const method = env.POSTGRES_HOST_AUTH_METHOD || "scram-sha-256"
    const password = env.POSTGRES_PASSWORD
    if (!password && method !== "trust") {
      throw new Error(
        "Database is uninitialized and superuser password is not specified. You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.",
      )
    }
    start.log(`initialising ${pgdata} (user ${superuser}, host auth ${method})`)
    const pwfile = join(start.socketDir, ".pwfile")
    await writeFile(pwfile, `${password ?? ""}\n`, { mode: 0o600 })
    if (user) await chown(pwfile, user.uid, user.gid)
    await exec("initdb", [
      `--username=${superuser}`,
      `--pwfile=${pwfile}`,
      "-D",
      pgdata,
      ...(env.POSTGRES_INITDB_ARGS ? env.POSTGRES_INITDB_ARGS.split(/\s+/u).filter(Boolean) : []),
    ])
    await writeFile(pwfile, "")
    await appendFile(join(pgdata, "pg_hba.conf"), `\nhost all all all ${method}\n`)
    const database = env.POSTGRES_DB || superuser
    if (database !== "postgres") {
      // The image creates it on a temporary server without TCP; single-user mode does the same with no server at
      // all (nothing to leave behind if the runner dies meanwhile).
      await exec(
        "postgres",
        ["--single", "-D", pgdata, "-j", "postgres"],
        `CREATE DATABASE "${database.replaceAll('"', '""')}";\n`,
      )
    }
    start.log("PostgreSQL init process complete; ready for start up.")
  }
  return {
    command: join(binDir, "postgres"),
    args: [
      "-D",
      pgdata,
      "-c",
      `listen_addresses=${start.podIp}`,
      "-c",
      `unix_socket_directories=${start.socketDir}`,
      ...start.args,
    ],
  }
}

export const runnerIsRoot = () => userInfo().uid === 0
