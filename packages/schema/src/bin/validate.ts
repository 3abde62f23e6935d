#!/usr/bin/env node
/**
 * cartographer-validate [files|dirs|-]... [--output text|json] [--allow-unknown-fields]
 *
 * Validates Workspace documents for CI. Exit codes: 0 all valid, 1 any invalid, 2 usage or read errors.
 * Directories are searched recursively for *.yaml, *.yml and *.json; `-` reads standard input.
 * Documents of other kinds in the same files are skipped with a notice on stderr.
 */
import { readdir, readFile, stat } from "node:fs/promises"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { type FileReport, formatReport, validateText } from "../validateFiles.js"

const usage = `Usage: cartographer-validate [options] <file|dir|->...

Validates Cartographer Workspace documents (mlops.aigency.com/v1alpha1) against the same Schema the operator uses.

Options:
  -o, --output <text|json>   output format (default: text)
      --allow-unknown-fields do not report fields the Schema does not know (default: report them, like kubectl)
  -h, --help                 show this help

Exit codes: 0 all Workspaces valid, 1 some invalid, 2 usage or read error.`

const isManifest = (name: string): boolean => /\.(ya?ml|json)$/u.test(name)

const collect = async (target: string): Promise<Array<string>> => {
  const info = await stat(target)
  if (!info.isDirectory()) return [target]
  const entries = await readdir(target, { withFileTypes: true })
  const nested = await Promise.all(
    entries
      .filter((e) => !e.name.startsWith(".") && e.name !== "node_modules")
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) =>
        e.isDirectory()
          ? collect(join(target, e.name))
          : Promise.resolve(isManifest(e.name) ? [join(target, e.name)] : []),
      ),
  )
  return nested.flat()
}

const readStdin = async (): Promise<string> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8")
}

const main = async (): Promise<number> => {
  let args: ReturnType<typeof parse>
  const parse = () =>
    parseArgs({
      allowPositionals: true,
      options: {
        output: { type: "string", short: "o", default: "text" },
        "allow-unknown-fields": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    })
  try {
    args = parse()
  } catch (error) {
    process.stderr.write(`cartographer-validate: ${(error as Error).message}\n\n${usage}\n`)
    return 2
  }
  if (args.values.help) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const output = args.values.output
  if (output !== "text" && output !== "json") {
    process.stderr.write(`cartographer-validate: --output must be text or json, not "${output}"\n`)
    return 2
  }
  if (args.positionals.length === 0) {
    process.stderr.write(`cartographer-validate: name at least one file, directory or - (standard input)\n\n${usage}\n`)
    return 2
  }
  const options = { unknownFields: args.values["allow-unknown-fields"] ? "ignore" : "error" } as const
  const reports: Array<FileReport> = []
  const readErrors: Array<{ file: string; message: string }> = []
  for (const target of args.positionals) {
    if (target === "-") {
      reports.push(validateText("-", await readStdin(), options))
      continue
    }
    let files: Array<string>
    try {
      files = await collect(target)
    } catch (error) {
      readErrors.push({ file: target, message: (error as NodeJS.ErrnoException).code ?? (error as Error).message })
      continue
    }
    for (const file of files) {
      try {
        reports.push(validateText(file, await readFile(file, "utf8"), options))
      } catch (error) {
        readErrors.push({ file, message: (error as NodeJS.ErrnoException).code ?? (error as Error).message })
      }
    }
  }
  const documents = reports.flatMap((r) => r.documents)
  const invalid = documents.filter((d) => d.status === "invalid").length
  const valid = documents.filter((d) => d.status === "valid").length
  if (output === "json") {
    process.stdout.write(
      `${JSON.stringify({ valid: invalid === 0 && readErrors.length === 0, files: reports, readErrors }, null, 2)}\n`,
    )
  } else {
    for (const report of reports) {
      for (const document of report.documents) {
        if (document.status === "skipped") {
          const where = report.documents.length > 1 ? `${report.file}:${document.index}` : report.file
          process.stderr.write(`${where}: skipped, ${document.reason}\n`)
        }
      }
      for (const line of formatReport(report)) process.stdout.write(`${line}\n`)
    }
    for (const e of readErrors) process.stderr.write(`${e.file}: cannot read: ${e.message}\n`)
    process.stderr.write(
      `${valid} valid, ${invalid} invalid Workspace${valid + invalid === 1 ? "" : "s"} in ${reports.length} file${reports.length === 1 ? "" : "s"}\n`,
    )
  }
  return readErrors.length > 0 ? 2 : invalid > 0 ? 1 : 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`cartographer-validate: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 2
  },
)
