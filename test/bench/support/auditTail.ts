// Reads the API server's audit log as it grows: each call returns the events appended since the previous one, so
// that a run of thousands of requests can be watched for convergence without re-reading megabytes each time.
import { open } from "node:fs/promises"
import type { AuditEvent } from "@cartographer/test/harness"

export interface AuditTail {
  /** Complete events appended since the last call (a partly written last line waits for the next call). */
  read(): Promise<ReadonlyArray<AuditEvent>>
}

export const auditTail = (path: string, options: { readonly fromEnd?: boolean } = {}): AuditTail => {
  let offset = -1
  let partial = ""
  return {
    read: async () => {
      const file = await open(path, "r")
      try {
        const { size } = await file.stat()
        if (offset < 0) offset = options.fromEnd === true ? size : 0
        if (size < offset) offset = 0 // rotated or truncated
        if (size === offset) return []
        const buffer = Buffer.alloc(size - offset)
        await file.read(buffer, 0, buffer.length, offset)
        offset = size
        const text = partial + buffer.toString("utf8")
        const lines = text.split("\n")
        partial = lines.pop() ?? ""
        const events: Array<AuditEvent> = []
        for (const line of lines) {
          if (line.trim() === "") continue
          try {
            events.push(JSON.parse(line) as AuditEvent)
          } catch {
            // Not an event: skip (the harness's readAudit does the same).
          }
        }
        return events
      } finally {
        await file.close()
      }
    },
  }
}

/** Milliseconds since the epoch of an audit timestamp (microsecond precision is kept as a fraction). */
export const auditTime = (timestamp: string): number => {
  const match = /\.(\d+)Z$/u.exec(timestamp)
  const base = Date.parse(timestamp.replace(/\.\d+Z$/u, "Z"))
  return match === null ? base : base + Number(`0.${match[1]}`) * 1000
}
