/**
 * When a server replica that lost its database is restarted. Prefect's `/api/health` never touches the database;
 * only `/api/ready` does (503 while it is unreachable). So liveness reads `/api/ready`, but tolerates a stated time
 * of failures: a database restart, a failover or a slow start must not cost every replica a restart, while a server
 * whose database is gone for good is restarted instead of serving errors forever.
 */
import { Schema } from "effect"
import { withDefault } from "./fields.js"

export const defaultDatabaseLossRestartSeconds = 300
export const minDatabaseLossRestartSeconds = 30
const maxDatabaseLossRestartSeconds = 3600

export const DatabaseLossRestartSeconds = withDefault(
  Schema.Int.check(
    Schema.isGreaterThanOrEqualTo(minDatabaseLossRestartSeconds, {
      message: `must be at least ${minDatabaseLossRestartSeconds}: shorter would restart the server during an ordinary database restart`,
    }),
    Schema.isLessThanOrEqualTo(maxDatabaseLossRestartSeconds, {
      message: `must be at most ${maxDatabaseLossRestartSeconds}`,
    }),
  ),
  defaultDatabaseLossRestartSeconds,
  "Restart a server replica once its database has been unreachable this many seconds (its liveness probe reads " +
    "`/api/ready`; readiness takes it out of the Service within 30 seconds).",
)
