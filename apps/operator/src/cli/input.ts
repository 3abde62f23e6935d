/**
 * The input of `cartographer plan` and `cartographer diff`: `-f <file|->` is required, `--namespace` must be a
 * namespace name, and the file (or standard input) must be readable. Both commands answer a bad invocation the
 * same way: one line saying what is wrong, exit code 2.
 */
export interface InputIo {
  readonly readFile: (path: string) => Promise<string>
  readonly readStdin: () => Promise<string>
  readonly error: (text: string) => void
}

export interface Input {
  readonly text: string
  /** The file name for messages (`<stdin>` for `-`). */
  readonly label: string
}

const namespaceName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/u

/** The text named by `-f`, or the exit code 2 after saying on stderr why there is none. */
export const readInput = async (
  command: string,
  usage: string,
  values: { readonly filename?: string | undefined; readonly namespace?: string | undefined },
  io: InputIo,
): Promise<Input | 2> => {
  if (values.filename === undefined) {
    io.error(`cartographer ${command}: -f <file|-> is required\n\n${usage}\n`)
    return 2
  }
  if (values.namespace !== undefined && !namespaceName.test(values.namespace)) {
    io.error(`cartographer ${command}: --namespace "${values.namespace}" is not a namespace name\n`)
    return 2
  }
  const source = values.filename
  try {
    const text = source === "-" ? await io.readStdin() : await io.readFile(source)
    return { text, label: source === "-" ? "<stdin>" : source }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code ?? (error instanceof Error ? error.message : String(error))
    io.error(`cartographer ${command}: cannot read ${source}: ${why}\n`)
    return 2
  }
}
