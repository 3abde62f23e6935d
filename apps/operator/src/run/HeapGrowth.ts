/**
 * How far V8 lets the heap grow past what its last full collection kept alive before it collects again.
 *
 * V8 picks that factor itself, up to 4x when collections are fast, and a cold start (the initial lists of every
 * Workspace's children, parsed at once) is when they are: the heap then stays far above what is live. A fixed 1.5x
 * keeps it much closer for about the same CPU; the measurements, and why not less, are in test/bench/README.md.
 * The flag is not one Node accepts in NODE_OPTIONS, so the process sets it itself, before its caches fill; V8 reads
 * it at every collection.
 */
import { setFlagsFromString } from "node:v8"

const heapGrowingPercent = 50

export const limitHeapGrowth = (): void => {
  setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`)
}
