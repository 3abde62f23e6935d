#!/usr/bin/env node
/**
 * `cartographer <command>`: the operator's command line. Each command lives in `cli/` and is loaded on demand, so
 * that `plan` does not load what `run` will need.
 */
import { readFile } from "node:fs/promises"
import { unsupportedNode, version } from "./version.js"

const usage = `Usage: cartographer <command> [options]

Commands:
  run        run the operator (watch Workspaces and reconcile them; serves /healthz, /readyz, /metrics)
  diff       show what applying a Workspace file would change in the cluster (server-side dry-run)
  plan       print the Kubernetes objects planned for a Workspace file (offline)
  uninstall  delete every Workspace and what the operator made for it, then the operator; keeps the data
  version    print the version

Run \`cartographer <command> --help\` for a command's options.`

const readStdin = async (): Promise<string> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8")
}

/** The files and standard streams of this process, as `plan` and `diff` read and write them. */
const processIo = {
  readFile: (path: string) => readFile(path, "utf8"),
  readStdin,
  write: (text: string) => {
    process.stdout.write(text)
  },
  error: (text: string) => {
    process.stderr.write(text)
  },
}

/** An exit code, or `"started"` when a long-running command now owns the process. */
const main = async (argv: ReadonlyArray<string>): Promise<number | "started"> => {
  const [command, ...rest] = argv
  switch (command) {
    case "run": {
      const { runOperator } = await import("./cli/run.js")
      return runOperator(rest)
    }
    case "diff": {
      const { runDiff } = await import("./cli/diff.js")
      return runDiff(rest, processIo)
    }
    case "plan": {
      const { runPlan } = await import("./cli/plan.js")
      return runPlan(rest, processIo)
    }
    case "uninstall": {
      const { runUninstall } = await import("./cli/uninstall.js")
      return runUninstall(rest, processIo)
    }
    case "version":
    case "--version":
      process.stdout.write(`cartographer ${version}\n`)
      return 0
    case undefined:
    case "help":
    case "-h":
    case "--help":
      process.stdout.write(`${usage}\n`)
      return command === undefined ? 2 : 0
    default:
      process.stderr.write(`cartographer: unknown command "${command}"\n\n${usage}\n`)
      return 2
  }
}

// Before any command is loaded: on an older Node.js they fail deep inside a dependency instead of saying why.
const unsupported = unsupportedNode(process.versions.node)
if (unsupported !== undefined) {
  process.stderr.write(`${unsupported}\n`)
  process.exitCode = 2
} else {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== "started") process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`cartographer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      process.exitCode = 2
    },
  )
}
