/**
 * Defaults that the Schema applies when a field is absent. They are stated once here so that the configuration
 * reference (docs/configuration.md), the CRD and the decoder agree.
 */

export * from "./images.js"

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
