/**
 * `spec.workflows.database.restoreFrom`: a backup file (`backup.ts` of the planner writes them) restored into a new
 * Workspace's in-cluster database before its first migration, by a Job `<ws>-orion-restore-<hash>` (ADR 0011). The Job
 * refuses a database that already holds a Prefect schema, so a restore never overwrites data.
 */
import { Schema } from "effect"
import type { CelRule } from "./cel.js"
import { ObjectName } from "./fields.js"

export const RestoreFrom = Schema.Struct({
  claimName: ObjectName.annotate({ description: "PersistentVolumeClaim holding the file." }),
  file: Schema.String.annotate({ description: "File name on it." }).check(
    Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/u, { message: "must be a file name (no directory)" }),
  ),
}).annotate({ description: "A backup restored into the new database before its first migration, never over data." })
export type RestoreFrom = typeof RestoreFrom.Type

const withExternal = "is only for the in-cluster database"

/** A restore needs the in-cluster database: an external one is restored with its own tools. */
export const restoreNeedsInClusterDatabase = {
  issue: (database: { readonly external?: unknown; readonly restoreFrom?: RestoreFrom }) =>
    database.external !== undefined && database.restoreFrom !== undefined
      ? { path: ["restoreFrom"], issue: withExternal }
      : undefined,
  rule: {
    rule: "!has(self.external) || !has(self.restoreFrom)",
    message: `restoreFrom ${withExternal}`,
    fieldPath: ".restoreFrom",
  } satisfies CelRule,
}
