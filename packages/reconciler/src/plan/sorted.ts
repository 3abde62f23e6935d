/**
 * User maps copied into planned objects are sorted by key: the engine hashes objects as `JSON.stringify` writes them
 * (docs/architecture.md, "Key order is part of the output"), so the same map written in another order must yield the
 * same object and hash.
 */
export const sortedRecord = (record: Readonly<Record<string, string>>): Readonly<Record<string, string>> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
