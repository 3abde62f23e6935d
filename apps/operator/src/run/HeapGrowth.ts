/**
 * How far V8 lets the heap grow past what its last full collection kept alive before it collects again.
 *
 * V8 picks that factor itself, up to 4x when collections are fast, and a cold start (lists of ~11,800 objects
 * parsed at once) is when they are: at 1,000 Workspaces it then kept ~147 MiB of heap for ~71 MiB live. Converging
 * 600 Workspaces twice each way, a fixed 1.5x kept 104 MiB of heap instead of 143-147 (RSS 193 instead of 246-249
 * MiB) for 31.9/33.8 s of CPU instead of 31.7/29.7 s; 1.2x saved no more (test/bench/README.md).
 * The flag is not one Node accepts in NODE_OPTIONS, so the process sets it itself, before its caches fill; V8 reads
 * it at every collection.
 */
import { setFlagsFromString } from "node:v8"

const heapGrowingPercent = 50

export const limitHeapGrowth = (): void => {
  setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`)
}
