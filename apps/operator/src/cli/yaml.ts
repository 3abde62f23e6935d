/**
 * Kubernetes manifests as YAML, the one renderer of the CLI (`plan` prints it, `diff` compares it), that any Kubernetes
 * tool reads back unchanged: kubectl's parser follows YAML 1.1, where
 * a plain `no`, `on` or `y` is a boolean (a pool named `no` would turn `--pool no` into `false`), so the YAML 1.1
 * rules are used, every string value is quoted, and shared objects are written out instead of as anchors.
 */
import { stringify } from "yaml"

export const toYaml = (value: unknown, options: { readonly sortKeys?: boolean } = {}): string =>
  stringify(value, {
    version: "1.1",
    aliasDuplicateObjects: false,
    lineWidth: 0,
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "PLAIN",
    // Sorted keys, for two objects compared line by line (`cartographer diff`).
    sortMapEntries: options.sortKeys === true,
  })

/** A multi-document stream; each document may be preceded by `#` comment lines. */
export const toYamlStream = (
  documents: ReadonlyArray<{ readonly comment?: string; readonly value: unknown }>,
): string =>
  documents
    .map(({ comment, value }) => {
      const header =
        comment === undefined
          ? ""
          : comment
              .split("\n")
              .map((line) => (line === "" ? "#\n" : `# ${line}\n`))
              .join("")
      return `---\n${header}${value === undefined ? "" : toYaml(value)}`
    })
    .join("")
