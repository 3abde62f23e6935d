// A CLI command run in-process, as the tests run `plan` and `diff`: files read from disk, standard input as given,
// what it writes collected.
import { readFile } from "node:fs/promises"
import type { InputIo } from "../../src/cli/WorkspaceFiles.js"

export const capturedIo = (stdin = ""): { readonly io: InputIo; readonly output: { out: string; err: string } } => {
  const output = { out: "", err: "" }
  return {
    output,
    io: {
      readFile: (path) => readFile(path, "utf8"),
      readStdin: async () => stdin,
      write: (text) => {
        output.out += text
      },
      error: (text) => {
        output.err += text
      },
    },
  }
}
