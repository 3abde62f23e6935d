/**
 * One copy of each string the cached objects repeat (controller-runtime leaves this to Go's string sharing; a
 * JavaScript `JSON.parse` gives every string value of every object a copy of its own). A Workspace's children repeat
 * its name, namespace and uid in their labels and owner references, and every Workspace made from one template
 * repeats the same images, label values, env values, probe paths and kinds: shared, each is held once.
 *
 * Object keys need nothing: V8 already keeps one copy of each property name. Values that are unique by nature
 * (`uid`, `resourceVersion`, `creationTimestamp` of the object itself) and long ones (certificates, Secret data) are
 * not looked up. The table is cleared when it reaches `limit` entries, so that the strings of objects long deleted are
 * not kept for ever: the copies already shared stay shared, and new ones are shared from then on.
 */

/** Strings longer than this are seldom repeated (certificates, scripts, Secret data) and are left alone. */
const maxLength = 256

/** Metadata values unique to each object, never worth a table entry. */
const uniqueMetadata: ReadonlySet<string> = new Set(["uid", "resourceVersion", "creationTimestamp", "generateName"])

export interface Strings {
  /** Replaces, in place, every string value of a JSON object with its shared copy; returns the object. */
  readonly share: <A>(object: A) => A
  /** Entries in the table now. */
  readonly size: () => number
}

export const makeStrings = (limit = 250_000): Strings => {
  const table = new Map<string, string>()
  const intern = (value: string): string => {
    if (value.length > maxLength) return value
    const shared = table.get(value)
    if (shared !== undefined) return shared
    if (table.size >= limit) table.clear()
    table.set(value, value)
    return value
  }
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i]
        if (typeof item === "string") value[i] = intern(item)
        else if (typeof item === "object" && item !== null) walk(item)
      }
      return
    }
    const record = value as Record<string, unknown>
    for (const key in record) {
      const item = record[key]
      if (typeof item === "string") record[key] = intern(item)
      else if (typeof item === "object" && item !== null) walk(item)
    }
  }
  const share = <A>(object: A): A => {
    if (typeof object !== "object" || object === null) return object
    const record = object as Record<string, unknown>
    for (const key in record) {
      const item = record[key]
      if (key === "metadata" && typeof item === "object" && item !== null) {
        const metadata = item as Record<string, unknown>
        for (const field in metadata) {
          const v = metadata[field]
          if (typeof v === "string") {
            if (!uniqueMetadata.has(field)) metadata[field] = intern(v)
          } else if (typeof v === "object" && v !== null) walk(v)
        }
      } else if (typeof item === "string") record[key] = intern(item)
      else if (typeof item === "object" && item !== null) walk(item)
    }
    return object
  }
  return { share, size: () => table.size }
}
