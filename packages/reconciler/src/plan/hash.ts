/**
 * A small, pure, deterministic content hash for naming migration Jobs. Not cryptographic: it only has to change when
 * the Job's content changes (an accidental collision would reuse a finished Job for a new image, so 32 bits across
 * the few revisions a Workspace sees is ample). Pure TypeScript, so `plan/` needs no `node:` import.
 */

/** FNV-1a, 32 bits, over the UTF-16 code units of `text`; 8 lowercase hex characters. */
export const fnv1a32 = (text: string): string => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, "0")
}

/**
 * The hash of a value the planner built. Its own objects have a fixed key order, and the only user map that reaches a
 * hashed object (`nodeSelector`) is sorted where it is copied (podSecurity.ts), so `JSON.stringify` is canonical here
 * (and much faster than a key-sorting serializer: planning has a throughput target, `planTarget` of
 * bench/planThroughput.ts).
 */
export const contentHash = (value: unknown): string => fnv1a32(JSON.stringify(value))
