// How big the chaos suites run: `smoke` (the default test command: small, a few seconds each, still able to fail)
// or `full` (`npm run chaos`: the sizes the issue states). Set with CARTOGRAPHER_CHAOS_SCALE.
export type ChaosScale = "smoke" | "full"

export const chaosScale = (): ChaosScale => {
  const value = process.env.CARTOGRAPHER_CHAOS_SCALE ?? "smoke"
  if (value !== "smoke" && value !== "full")
    throw new Error(`CARTOGRAPHER_CHAOS_SCALE must be smoke or full, not ${value}`)
  return value
}

/** `smoke` or `full` by the current scale; an explicit override (e.g. CARTOGRAPHER_FUZZ_COUNT) wins. */
export const bySize = <A>(sizes: { readonly smoke: A; readonly full: A }, override?: A): A =>
  override ?? sizes[chaosScale()]

/** A positive integer from the environment, or undefined. */
export const intFromEnv = (name: string): number | undefined => {
  const value = Number(process.env[name])
  return Number.isSafeInteger(value) && value > 0 ? value : undefined
}
