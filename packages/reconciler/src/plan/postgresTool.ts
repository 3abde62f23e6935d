/**
 * The pod of a Job that runs the postgres image's client tools (`psql`, `pg_dump`, `pg_restore`) against the
 * in-cluster database with a backup volume mounted: the backups' (`backup.ts`) and the restore's (`restore.ts`).
 */
import type { PlanContext } from "./context.js"
import { postgresImage } from "./database.js"
import type { EnvVar, PodTemplateSpec } from "./kube.js"
import { waitForDatabase } from "./migration.js"
import { databaseName, secretName } from "./names.js"
import { podComponent } from "./placement.js"
import { containerSecurity, imageServiceUid, podFields, podTemplate, pullPolicy } from "./podSecurity.js"
import { defaultResources } from "./resources.js"
import { databaseDb, databasePort, databaseUser, secretKeys } from "./secrets.js"

/** The connection flags every tool takes, from the container's environment. */
export const connectionFlags = '-h "$DATABASE_HOST" -p "$DATABASE_PORT" -U "$DATABASE_USER" -d "$DATABASE_NAME"'

/** A shell function `q "<sql>"` that prints one query's result, unaligned, and fails on an error. */
export const psqlFunction = `q() { psql ${connectionFlags} -Atq -v ON_ERROR_STOP=1 -c "$1"; }`

/** A shell test: the database holds Prefect's schema (its `alembic_version` table), i.e. data. */
export const holdsPrefectSchema = `[ "$(q "SELECT to_regclass('public.alembic_version') IS NOT NULL")" = t ]`

export interface PostgresTool {
  readonly component: "backup" | "restore"
  /** The shell program; its last line, echoed to /dev/termination-log, is what the engine reads. */
  readonly script: string
  readonly env: ReadonlyArray<EnvVar>
  /** The backup volume: where it is mounted, and whether read-only. */
  readonly claimName: string
  readonly mountPath: string
  readonly readOnly: boolean
}

export const postgresToolPod = (ctx: PlanContext, tool: PostgresTool): PodTemplateSpec => {
  const component = podComponent(ctx, tool.component)
  const readOnly = tool.readOnly ? { readOnly: true } : {}
  return podTemplate(ctx, component, {
    // fsGroup makes the backup volume writable for the image's `postgres` user.
    ...podFields(ctx, component, imageServiceUid, { group: true, fsGroupChangePolicy: "OnRootMismatch" }),
    restartPolicy: "Never",
    initContainers: [waitForDatabase(ctx)],
    containers: [
      {
        name: tool.component,
        image: postgresImage(ctx),
        imagePullPolicy: pullPolicy(ctx),
        command: ["sh", "-c", tool.script],
        env: [
          { name: "DATABASE_HOST", value: databaseName(ctx) },
          { name: "DATABASE_PORT", value: String(databasePort) },
          { name: "DATABASE_USER", value: databaseUser },
          { name: "DATABASE_NAME", value: databaseDb },
          { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: secretName(ctx), key: secretKeys.password } } },
          ...tool.env,
          { name: "HOME", value: "/tmp" },
        ],
        // The same tools, the same needs.
        resources: defaultResources.backup,
        volumeMounts: [
          { name: "backup", mountPath: tool.mountPath, ...readOnly },
          { name: "tmp", mountPath: "/tmp" },
        ],
        // The image's `postgres` user: libpq looks the current user up.
        securityContext: containerSecurity({ readOnlyRootFilesystem: true, runAsUser: imageServiceUid }),
        terminationMessagePolicy: "FallbackToLogsOnError",
      },
    ],
    volumes: [
      { name: "backup", persistentVolumeClaim: { claimName: tool.claimName, ...readOnly } },
      { name: "tmp", emptyDir: {} },
    ],
  })
}
