/**
 * The database password Cartographer draws for a Workspace whose Secret does not exist yet: 24 random bytes as
 * URL-safe base64, 32 characters that need no escaping in a URL, a shell or YAML. The planner never draws it (it is
 * pure); the engine, `cartographer plan` and `cartographer diff` pass it in.
 */
import { randomBytes } from "node:crypto"

export const generatePassword = (): string => randomBytes(24).toString("base64url")
