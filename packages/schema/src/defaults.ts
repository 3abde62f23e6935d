/**
 * Defaults that the Schema applies when a field is absent. They are stated once here so that the configuration
 * reference (docs/configuration.md), the CRD and the decoder agree.
 */

/** Prefect release the default images are pinned to (server, process workers, migrations). */
export const prefectVersion = "3.9.1"
/** Python of the default Prefect images. */
export const prefectPython = "3.12"
/** The server and process-worker image when `spec.workflows.image` is absent. */
export const defaultPrefectImage = `prefecthq/prefect:${prefectVersion}-python${prefectPython}`
/** The image of a `kubernetes` pool when neither the pool nor the workspace names one (has prefect-kubernetes). */
export const defaultKubernetesWorkerImage = `${defaultPrefectImage}-kubernetes`
/** In-cluster Postgres image (Debian based; the official image runs as uid 999 when asked to). */
export const defaultPostgresImage = "postgres:17.6"
/** Redis for multi-replica servers (messaging, cache, leases). */
export const defaultRedisImage = "redis:8.2"

export const defaultControllerReplicas = 1
export const defaultDatabaseReplicas = 1
export const defaultStorageQuota = "16Gi"
export const defaultPoolReplicas = 1
export const defaultPoolType = "process"
/** What the UI in the browser calls: right for `kubectl port-forward svc/<ws>-orion-server 4200:4200`. */
export const defaultUiApiUrl = "http://localhost:4200/api"
export const defaultLogLevel = "INFO"
export const defaultImagePullPolicy = "IfNotPresent"
/** Key of the connection URL in an external database Secret. */
export const defaultExternalDatabaseKey = "connection-url"
