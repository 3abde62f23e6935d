/**
 * The passwords Cartographer draws for credentials a Workspace's Secret does not hold yet: 24 random bytes as
 * URL-safe base64, 32 characters that need no escaping in a URL, a shell or YAML. The planner never draws them (it is
 * pure); the engine, `cartographer plan` and `cartographer diff` pass them in.
 */
import { randomBytes } from "node:crypto"
import type { GeneratedSecrets } from "./plan/Observed.js"

export const generatePassword = (): string => randomBytes(24).toString("base64url")

/** One fresh password per credential besides the database's, each drawn on its own. */
export const generateSecrets = (): GeneratedSecrets => ({
  apiAuthPassword: generatePassword(),
  redisPassword: generatePassword(),
})
