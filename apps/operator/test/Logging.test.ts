import { Effect, Logger, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { entryFields, redact } from "../src/run/Logging.js"

/** Runs `effect` with a logger that captures the fields of each entry. */
const capture = (effect: Effect.Effect<void>) => {
  const entries: Array<Record<string, unknown>> = []
  const logger = Logger.make((options) => {
    entries.push(entryFields(options))
  })
  Effect.runSync(effect.pipe(Effect.provide(Logger.layer([logger]))))
  return entries
}

describe("operator logs", () => {
  it("write one flat JSON object per entry: time, level, msg, then the fields and annotations", () => {
    const [entry] = capture(
      Effect.logInfo("reconciled", { key: "ns/ws", result: "success", seconds: 0.25 }).pipe(
        Effect.annotateLogs({ replica: "a" }),
      ),
    )
    expect(entry).toMatchObject({ level: "info", msg: "reconciled", key: "ns/ws", result: "success", seconds: 0.25 })
    expect(entry?.replica).toBe("a")
    expect(Date.parse(String(entry?.time))).not.toBeNaN()
    expect(JSON.parse(JSON.stringify(entry))).toEqual(entry)
  })

  it("never print secret-looking fields or Redacted values", () => {
    const [entry] = capture(
      Effect.logWarning("connecting", {
        password: "hunter2",
        nested: { token: "abc", connectionUrl: "postgresql://u:p@db/x", ok: 1 },
        apiKey: Redacted.make("sk-123"),
      }),
    )
    const text = JSON.stringify(entry)
    expect(text).not.toContain("hunter2")
    expect(text).not.toContain("abc")
    expect(text).not.toContain("u:p@db")
    expect(text).not.toContain("sk-123")
    expect(entry).toMatchObject({ password: "[redacted]", nested: { token: "[redacted]", ok: 1 } })
    expect(redact({ a: [{ secret: "x" }] })).toEqual({ a: [{ secret: "[redacted]" }] })
  })

  it("carry the error of a failed effect", () => {
    const [entry] = capture(Effect.logError("fatal", new Error("boom")))
    expect(entry?.msg).toBe("fatal")
    expect(JSON.stringify(entry)).toContain("boom")
  })
})
