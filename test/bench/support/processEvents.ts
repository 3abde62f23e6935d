// What the benchmark and the chaos suites read of an operator process they started, whichever entry point it runs
// (the shipped `cartographer run` or the engine host): its memory from /proc, and the events parsed from its output,
// awaited by predicate.
import { readFile } from "node:fs/promises"

export interface MemoryStats {
  readonly rssBytes: number
  /** Private anonymous memory (RssAnon): the heap and native allocations, without the mapped node binary. */
  readonly anonBytes: number
  /** File-backed resident pages (RssFile): mostly the node binary's code, shared with other Node processes. */
  readonly fileBytes: number
  /** High-water mark (VmHWM). */
  readonly peakRssBytes: number
}

/** A Workspace's reconcile as the operator logged it, with the time this process saw the line (`Date.now()`). */
export interface ReconciledEvent {
  readonly event: "reconciled"
  readonly t: number
  readonly key: string
  readonly result: string
  /** How long the reconcile ran. */
  readonly ms: number
}

/** The process's memory from `/proc/<pid>/status`; undefined once it has ended. */
export const memoryOf = async (pid: number): Promise<MemoryStats | undefined> => {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8")
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024
    return {
      rssBytes: kib("VmRSS"),
      anonBytes: kib("RssAnon"),
      fileBytes: kib("RssFile"),
      peakRssBytes: kib("VmHWM"),
    }
  } catch {
    return undefined
  }
}

/**
 * A process's output as lines: `write` takes its chunks and hands each whole line to `onLine`; `tail` gives its last
 * lines (at least the last thousand are kept), the unfinished one included, for a failure to show.
 */
export const outputLines = (onLine: (line: string) => void = () => {}) => {
  const lines: Array<string> = []
  let rest = ""
  const write = (chunk: string) => {
    const parts = (rest + chunk).split("\n")
    rest = parts.pop() ?? ""
    for (const line of parts) {
      lines.push(line)
      onLine(line)
    }
    if (lines.length > 2000) lines.splice(0, lines.length - 1000)
  }
  const tail = (count = 30) => [...lines, rest].slice(-count).join("\n")
  return { write, tail }
}

/** How an event log speaks of its process in a failure: `what` ("engine host 123"), its state and its last lines. */
export interface ProcessView {
  readonly what: string
  readonly running: () => boolean
  /** Exit code or signal, once ended. */
  readonly status: () => string
  readonly tail: () => string
}

/**
 * The events of one process, in order. The caller pushes events and calls `wake` after new output or the process's
 * end; `waitFor` resolves with the first event, past or future, that matches, and rejects after `timeoutMs` or once
 * the process has ended without one.
 */
export const eventLog = <E>(process: ProcessView) => {
  const events: Array<E> = []
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const waiter of [...waiters]) waiter()
  }
  const waitFor = (predicate: (event: E) => boolean, timeoutMs: number): Promise<E> =>
    new Promise((resolve, reject) => {
      let seen = 0
      const check = () => {
        for (; seen < events.length; seen++) {
          const event = events[seen] as E
          if (predicate(event)) {
            done()
            resolve(event)
            return
          }
        }
        if (!process.running()) {
          done()
          reject(new Error(`${process.what} ended (${process.status()})\n${process.tail()}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${process.what}: no matching event within ${timeoutMs} ms\n${process.tail()}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  return { events, wake, waitFor }
}
