/**
 * Command-line options as typed configuration. Each option is defined once: its flag, the environment variable read
 * when the flag is absent, the Schema that turns its text into a value (and says what is wrong with a bad one), its
 * default and its meaning. Parsing, validation messages, the help text and the configuration reference
 * (docs/configuration.md) all come from that definition. Node's `parseArgs` only splits the command line.
 */
import { delimiter } from "node:path"
import { parseArgs } from "node:util"
import { Duration, Effect, Option as O, Result, Schema, SchemaGetter, SchemaIssue } from "effect"

export type Environment = Readonly<Record<string, string | undefined>>

export interface Option<A> {
  readonly flag: string
  /** One-letter alias (`-f`). */
  readonly short?: string | undefined
  /** Read when the flag is absent; an empty value counts as absent. */
  readonly env?: string | undefined
  /** A switch: `--flag` alone means true, `--no-flag` false. */
  readonly switch?: boolean | undefined
  /** What the value is called in the help (`<value>`). */
  readonly metavar?: string | undefined
  /** From the option's text to its value. */
  readonly schema: Schema.Codec<A, string>
  /** The value when neither the flag nor the variable says anything. */
  readonly default: A | ((environment: Environment) => A)
  /** The default as the help says it, when it is not simply the default value written as text. */
  readonly defaultText?: string | undefined
  readonly doc: string
}

/** A command's options, by the name of the value each one gives. */
export type Options<T> = { readonly [K in keyof T]: Option<T[K]> }

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const defaultOf = <A>(o: Option<A>, environment: Environment): A =>
  typeof o.default === "function" ? (o.default as (environment: Environment) => A)(environment) : o.default

/** `--flag (ENV)`: how a message names an option. */
const nameOf = (o: Option<unknown>) => `--${o.flag}${o.env === undefined ? "" : ` (${o.env}):`}`

/**
 * Reads a command's options from its arguments, then the environment, then the defaults. `"help"` for `-h`/`--help`;
 * a failure lists every problem, one per line, each naming the option.
 */
export const parse = <T>(
  options: Options<T>,
  argv: ReadonlyArray<string>,
  environment: Environment = {},
): Result.Result<T | "help", string> => {
  const entries = Object.entries(options) as Array<[keyof T & string, Option<unknown>]>
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: [...argv],
      allowPositionals: false,
      allowNegative: true,
      strict: true,
      options: {
        ...Object.fromEntries(
          entries.map(([, o]) => [
            o.flag,
            {
              type: o.switch === true ? ("boolean" as const) : ("string" as const),
              ...(o.short === undefined ? {} : { short: o.short }),
            },
          ]),
        ),
        help: { type: "boolean", short: "h" },
      },
    }).values
  } catch (error) {
    return Result.fail(error instanceof Error ? error.message : String(error))
  }
  if (values.help === true) return Result.succeed("help")
  const config: Partial<Record<keyof T, unknown>> = {}
  const problems: Array<string> = []
  for (const [key, o] of entries) {
    const given = values[o.flag]
    const fromEnv = o.env === undefined ? undefined : environment[o.env]?.trim()
    const text = given !== undefined ? String(given) : fromEnv === undefined || fromEnv === "" ? undefined : fromEnv
    if (text === undefined) {
      config[key] = defaultOf(o, environment)
      continue
    }
    const decoded = Schema.decodeUnknownResult(o.schema)(text)
    if (Result.isSuccess(decoded)) config[key] = decoded.success
    else problems.push(...formatter(decoded.failure.issue).issues.map((i) => `${nameOf(o)} ${i.message}`))
  }
  return problems.length > 0 ? Result.fail(problems.join("\n")) : Result.succeed(config as T)
}

/** What the help and the configuration reference say an option defaults to. */
export const defaultText = <A>(o: Option<A>): string | undefined => {
  if (o.defaultText !== undefined) return o.defaultText
  if (typeof o.default === "function") return undefined
  return o.default === undefined ? undefined : Schema.encodeSync(o.schema)(o.default)
}

/** The options as a reference lists them: flag, variable, default and meaning. */
export const reference = <T>(
  options: Options<T>,
): ReadonlyArray<{ readonly flag: string; readonly env: string; readonly default: string; readonly doc: string }> =>
  Object.values<Option<unknown>>(options).map((o) => ({
    flag: o.flag,
    env: o.env ?? "",
    default: defaultText(o) ?? "",
    doc: o.doc,
  }))

/** The option lines of a command's help: name, meaning, then where else it comes from and its default. */
export const help = <T>(options: Options<T>): string => {
  const all = Object.values<Option<unknown>>(options)
  const nameOf = (o: Option<unknown>) =>
    `${o.short === undefined ? "    " : `-${o.short}, `}--${o.flag}${o.switch === true ? "" : ` <${o.metavar ?? "value"}>`}`
  const width = Math.max(...all.map((o) => nameOf(o).length)) + 2
  const lines = all.map((o) => {
    const fallback = defaultText(o)
    const origin = [
      ...(o.env === undefined ? [] : [`env ${o.env}`]),
      ...(fallback === undefined ? [] : [`default ${fallback}`]),
    ]
    const second = origin.length === 0 ? "" : `\n  ${" ".repeat(width)}${origin.join("; ")}`
    return `  ${nameOf(o).padEnd(width)}${o.doc}${second}`
  })
  return [...lines, `  ${"-h, --help".padEnd(width)}show this help`].join("\n")
}

/**
 * An option's text as a value of `to`: `decode` reads the (trimmed) text or says what is wrong with it; `encode`
 * writes a value back as text (how the help shows a default).
 */
const fromText = <A>(
  to: Schema.Codec<A, A>,
  decode: (text: string) => Result.Result<A, string>,
  encode: (value: A) => string,
): Schema.Codec<A, string> =>
  Schema.String.pipe(
    Schema.decodeTo(to, {
      decode: SchemaGetter.transformEffect((text: string) =>
        Result.match(decode(text.trim()), {
          onFailure: (message) => Effect.fail(new SchemaIssue.InvalidValue({ message }, text)),
          onSuccess: Effect.succeed,
        }),
      ),
      encode: SchemaGetter.transform(encode),
    }),
  )

/** A `decode` for `fromText` from a parser that finds a value or none: none is `"<text>" is not <expected>`. */
const expecting =
  <A>(expected: string, parse: (text: string) => O.Option<A>) =>
  (text: string): Result.Result<A, string> =>
    O.match(parse(text), { onNone: () => Result.fail(`"${text}" is not ${expected}`), onSome: Result.succeed })

const unitMillis = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
const goDuration = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/u

/** `30s`, `1m30s`, `500ms`, `2h` (the subset of Go's `time.ParseDuration` that flags use), or Effect's `30 seconds`. */
export const parseDuration = (text: string): Duration.Duration | undefined => {
  if (goDuration.test(text)) {
    let millis = 0
    for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/gu)) {
      millis += Number(amount) * unitMillis[unit as keyof typeof unitMillis]
    }
    return Duration.millis(millis)
  }
  return O.getOrUndefined(Duration.fromInput(text as Duration.Input))
}

/** A duration as Go writes it: `1m30s`, `2h`, `500ms`. */
export const formatDuration = (duration: Duration.Duration): string => {
  let rest = Duration.toMillis(duration)
  let text = ""
  for (const [unit, size] of Object.entries(unitMillis)) {
    const amount = unit === "ms" ? rest : Math.floor(rest / size)
    if (amount > 0) text += `${amount}${unit}`
    rest -= amount * size
  }
  return text === "" ? "0s" : text
}

/** A listen address (`host:port`, `:port` for every interface). */
export interface BindAddress {
  readonly host: string | undefined
  readonly port: number
}

/** `:8080` (every interface), `127.0.0.1:0` (a random free port), `[::1]:8080`; `0` (`undefined`) disables the server. */
export const parseBindAddress = (text: string): O.Option<BindAddress | undefined> => {
  if (text === "0") return O.some(undefined)
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/u.exec(text)
  const port = Number(match?.[3])
  if (match === null || port > 65_535) return O.none()
  const host = match[1] ?? match[2]
  return O.some({ host: host === undefined || host === "" ? undefined : host, port })
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/u
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/u
const matching = (pattern: RegExp) => (text: string) => (pattern.test(text) ? O.some(text) : O.none())
const identity = (text: string) => text

/** What option texts mean, each with the message a text that is not one gets. */
export const Text = {
  duration: fromText(
    Schema.Duration,
    expecting("a positive duration such as 30s, 2m or 1m30s", (text) =>
      O.filter(O.fromNullishOr(parseDuration(text)), Duration.isPositive),
    ),
    formatDuration,
  ),
  boolean: fromText(
    Schema.Boolean,
    expecting("true or false", (text) => {
      const lower = text.toLowerCase()
      if (["true", "1", "yes"].includes(lower)) return O.some(true)
      return ["false", "0", "no"].includes(lower) ? O.some(false) : O.none()
    }),
    String,
  ),
  integer: (min: number, max: number) =>
    fromText(
      Schema.Int,
      expecting(`an integer from ${min} to ${max}`, (text) => {
        const n = Number(text)
        return text !== "" && Number.isInteger(n) && n >= min && n <= max ? O.some(n) : O.none()
      }),
      String,
    ),
  oneOf: <const L extends ReadonlyArray<string>>(values: L) =>
    fromText<L[number]>(
      Schema.Literals(values),
      expecting(`one of ${values.join(", ")}`, (text) => {
        const lower = text.toLowerCase()
        return O.fromNullishOr(values.find((v): v is L[number] => v === lower))
      }),
      identity,
    ),
  bindAddress: fromText<BindAddress | undefined>(
    Schema.UndefinedOr(Schema.Struct({ host: Schema.UndefinedOr(Schema.String), port: Schema.Number })),
    expecting("host:port, :port or 0", parseBindAddress),
    (address) => (address === undefined ? "0" : `${address.host ?? ""}:${address.port}`),
  ),
  namespace: fromText(Schema.String, expecting("a namespace name", matching(dns1123Label)), identity),
  objectName: fromText(Schema.String, expecting("a Kubernetes object name", matching(dns1123Subdomain)), identity),
  /** Comma-separated namespace names, sorted and without repeats. */
  namespaces: fromText(
    Schema.Array(Schema.String),
    (text) => {
      const names = [...new Set(text.split(",").map((n) => n.trim()))].filter((n) => n !== "").sort()
      const bad = names.find((n) => !dns1123Label.test(n))
      return bad === undefined ? Result.succeed(names) : Result.fail(`"${bad}" is not a namespace name`)
    },
    (names) => names.join(","),
  ),
  /** Paths separated as in `$PATH` (`:`), like `KUBECONFIG`. */
  paths: fromText(
    Schema.Array(Schema.String),
    (text) => Result.succeed(text.split(delimiter).filter((path) => path !== "")),
    (paths) => paths.join(delimiter),
  ),
} as const
