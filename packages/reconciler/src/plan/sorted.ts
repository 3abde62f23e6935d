/**
 * What planned objects copy from the spec is sorted by key at every depth (lists keep their order): the engine hashes
 * objects as `JSON.stringify` writes them (docs/architecture.md, "Key order is part of the output"), so the same map
 * written in another order must yield the same object and hash.
 */
export const canonical = <A>(value: A): A => {
  if (Array.isArray(value)) return value.map(canonical) as A
  if (typeof value !== "object" || value === null) return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  ) as A
}
