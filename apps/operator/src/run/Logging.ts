/**
 * The operator's logs: one line per entry on standard output, JSON by default (`time`, `level`, `msg`, then the
 * entry's fields and annotations, flattened), logfmt with `--log-format text`.
 *
 * Secrets are never logged: the operator logs keys, durations, outcomes and error messages, never object contents;
 * as a second line of defence, fields whose name says they hold a secret are replaced by `[redacted]`, and Effect
 * `Redacted` values print as `<redacted>`.
 */
import { Cause, Layer, Logger, type LogLevel, References } from "effect"
import type { LogFormat, LogLevelName } from "./RunConfig.js"

const secretKey = /pass(word)?|secret|token|credential|authorization|private[-_]?key|connection[-_]?url/iu

/** Replaces the values of secret-looking keys, at any depth. */
export const redact = (value: unknown, depth = 0): unknown => {
  if (depth > 6 || value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1))
  if (value instanceof Error) return value.message
  // Redacted, Duration, Date and the like know how to print themselves.
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
    return typeof (value as { toJSON?: unknown }).toJSON === "function" ? value : String(value)
  }
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, secretKey.test(k) ? "[redacted]" : redact(v, depth + 1)]),
  )
}

const levels: Record<LogLevel.LogLevel, string> = {
  All: "all",
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warn: "warn",
  Error: "error",
  Fatal: "fatal",
  None: "none",
}

/** The fields of one entry: the first string of the message is `msg`, objects are merged, other parts go to `args`. */
export const entryFields = (options: Logger.Options<unknown>): Record<string, unknown> => {
  const parts = Array.isArray(options.message) ? options.message : [options.message]
  const fields: Record<string, unknown> = {
    time: options.date.toISOString(),
    level: levels[options.logLevel],
    msg: "",
  }
  const args: Array<unknown> = []
  for (const part of parts) {
    if (typeof part === "string" && fields.msg === "") fields.msg = part
    else if (part !== null && typeof part === "object" && !Array.isArray(part) && !(part instanceof Error)) {
      Object.assign(fields, redact(part))
    } else args.push(redact(part))
  }
  if (args.length > 0) fields.args = args
  for (const [key, value] of Object.entries(options.fiber.getRef(References.CurrentLogAnnotations))) {
    if (!(key in fields)) fields[key] = secretKey.test(key) ? "[redacted]" : redact(value)
  }
  if (options.cause.reasons.length > 0) fields.error = Cause.pretty(options.cause)
  return fields
}

const safeJson = (fields: Record<string, unknown>): string => {
  try {
    return JSON.stringify(fields, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value))
  } catch {
    return JSON.stringify({ time: fields.time, level: fields.level, msg: String(fields.msg) })
  }
}

const logfmtValue = (value: unknown): string => {
  const text = typeof value === "string" ? value : safeJson({ v: value }).slice(5, -1)
  return /^[^\s"=]+$/u.test(text) ? text : JSON.stringify(text)
}

/** One JSON object per line. */
export const jsonLogger = Logger.make((options) => safeJson(entryFields(options)))

/** `key=value` pairs, for people reading a terminal. */
export const textLogger = Logger.make((options) =>
  Object.entries(entryFields(options))
    .map(([key, value]) => `${key}=${logfmtValue(value)}`)
    .join(" "),
)

/** Writes each line synchronously to stdout (so that nothing is lost when the process exits right after). */
const toStdout = <M>(logger: Logger.Logger<M, string>): Logger.Logger<M, void> =>
  Logger.map(logger, (line) => {
    process.stdout.write(`${line}\n`)
  })

const minimum: Record<LogLevelName, LogLevel.LogLevel> = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" }

/** Replaces Effect's default logger and sets the minimum level. */
export const layer = (options: { readonly format: LogFormat; readonly level: LogLevelName }): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.layer([toStdout(options.format === "json" ? jsonLogger : textLogger)]),
    Layer.succeed(References.MinimumLogLevel, minimum[options.level]),
  )
