/**
 * The images a Workspace runs when it names none: the Schema states them in its descriptions, the planner uses them.
 */

/** Prefect release the default images are pinned to (server, process workers, migrations). */
const prefectVersion = "3.9.1"
/** Python of the default Prefect images. */
const prefectPython = "3.12"

/** The server and process-worker image when `spec.workflows.image` is absent. */
export const defaultPrefectImage = `prefecthq/prefect:${prefectVersion}-python${prefectPython}`
/** The image of a `kubernetes` pool when neither the pool nor the workspace names one (has prefect-kubernetes). */
export const defaultKubernetesWorkerImage = `${defaultPrefectImage}-kubernetes`
/** In-cluster Postgres image (Debian based; the official image runs as uid 999 when asked to). */
export const defaultPostgresImage = "postgres:17.6"
/** Redis for multi-replica servers (messaging, cache, leases). */
export const defaultRedisImage = "redis:8.2"
