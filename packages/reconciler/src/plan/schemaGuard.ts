/**
 * No downgrade onto a newer schema (ADR 0010). Prefect's `database upgrade` fails on a database whose alembic revision
 * its migrations do not know, but a server started with migrate-on-start off (as ours are) serves such a database
 * without a word, writing rows an older model does not understand. So the migration Job, which gates every server
 * rollout (`migration.ts`), first compares the database's revision with the migrations the image carries, where the
 * database is reachable, with the server's own connection settings:
 *
 * - a revision the image does not know means the database was migrated by a newer Prefect: the Job stops before any
 *   migration, writes a termination message starting with `schemaGuardMarker` and exits with `schemaGuardExitCode`,
 *   which the Job's pod failure policy turns into an immediate failure (retrying cannot help). The gate keeps the server
 *   on what it runs, and the status names the Prefect release the database needs;
 * - otherwise (an empty database, or one at a revision the image knows) it runs the migration (`migrationScript.ts`)
 *   in its place.
 */

/** The first word of the guard's termination message. */
export const schemaGuardMarker = "cartographer/schema-newer-than-image"

/** EX_DATAERR: the data (the database's schema) is not what this image can work with. */
export const schemaGuardExitCode = 65

/**
 * The migration container's program: Python run by the image's own interpreter, through the image's entrypoint (so
 * that EXTRA_PIP_PACKAGES are installed first, as for the server). It reads `alembic_version` through Prefect's own
 * database interface and looks each stored revision up in the image's migrations for that dialect.
 */
export const schemaGuardScript = (next: ReadonlyArray<string>): string => `import asyncio, os, sys
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
import prefect
import prefect.server.database as database
from prefect.server.database import provide_database_interface

db = provide_database_interface()

async def stored_revisions():
    engine = await db.engine()
    try:
        async with engine.connect() as connection:
            def read(sync):
                if not sa.inspect(sync).has_table("alembic_version"):
                    return []
                return [row[0] for row in sync.execute(sa.text("SELECT version_num FROM alembic_version"))]
            return await connection.run_sync(read)
    finally:
        await engine.dispose()

config = Config()
config.set_main_option("script_location", os.path.join(os.path.dirname(database.__file__), "_migrations"))
config.set_main_option("version_locations", str(db.orm.versions_dir))
scripts = ScriptDirectory.from_config(config)

def known(revision):
    try:
        return scripts.get_revision(revision) is not None
    except Exception:
        return False

unknown = [r for r in asyncio.run(stored_revisions()) if not known(r)]
if unknown:
    message = "${schemaGuardMarker} revision=%s prefect=%s head=%s" % (",".join(unknown), prefect.__version__, scripts.get_current_head())
    print(message, file=sys.stderr)
    try:
        with open("/dev/termination-log", "w") as log:
            log.write(message)
    except OSError:
        pass
    sys.exit(${schemaGuardExitCode})
print("database schema revision(s) known to Prefect %s; upgrading" % prefect.__version__, file=sys.stderr)
next = ${JSON.stringify(next)}
os.execvp(next[0], next)
`

/**
 * The newest alembic revision of Prefect releases, per dialect, as read from their migrations
 * (docs/architecture.md, "Prefect facts"): what a database at that revision needs at least.
 */
export const schemaHeads: Readonly<Record<string, string>> = {
  "91e2b8f3d6a4": "3.9.1",
  "27d8f4e1a6c9": "3.9.1",
  d4a7e1c93f52: "3.8.8",
  a3b9c7d2e5f1: "3.8.8",
}

/** What the guard reported: the revisions the image does not know, the image's Prefect and its newest revision. */
export interface NewerSchema {
  readonly revisions: ReadonlyArray<string>
  readonly prefect: string
  readonly head: string
}

/** The guard's report in a failed Job's message, if that is why it failed. */
export const parseNewerSchema = (message: string | undefined): NewerSchema | undefined => {
  const line = message
    ?.split("\n")
    .map((l) => l.trim())
    .find((l) => l.startsWith(`${schemaGuardMarker} `))
  if (line === undefined) return undefined
  const fields = new Map(
    line
      .slice(schemaGuardMarker.length)
      .trim()
      .split(/\s+/u)
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)] as const),
  )
  const revisions = (fields.get("revision") ?? "").split(",").filter((r) => r !== "")
  if (revisions.length === 0) return undefined
  return { revisions, prefect: fields.get("prefect") ?? "unknown", head: fields.get("head") ?? "unknown" }
}

/** Which Prefect the database needs, as precisely as the known heads allow. */
export const neededPrefect = (schema: NewerSchema): string => {
  const releases = schema.revisions.flatMap((r) => {
    const release = schemaHeads[r]
    return release === undefined ? [] : [release]
  })
  return releases.length > 0
    ? `Prefect ${releases.join(", ")} or newer`
    : `a Prefect newer than ${schema.prefect} (one whose migrations include revision ${schema.revisions.join(", ")})`
}

/** The status message: what the database needs, and that nothing moved. */
export const newerSchemaMessage = (image: string, schema: NewerSchema, heldImage: string | undefined): string =>
  `spec.workflows.image: ${image} runs Prefect ${schema.prefect}, whose newest database migration is ${schema.head}, ` +
  `but the database is at schema revision ${schema.revisions.join(", ")}: it needs ${neededPrefect(schema)}. ` +
  `No migration ran and nothing was rolled out${heldImage === undefined ? " (the server was not started)" : `; the server keeps running ${heldImage}`}. ` +
  "Set spec.workflows.image to an image with that Prefect."
