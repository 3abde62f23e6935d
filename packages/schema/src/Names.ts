/**
 * The names of the objects Cartographer manages for a Workspace: the original Cartographer's, so that existing
 * selectors, scripts and dashboards keep working. How long a Workspace or pool name may be for all of them to stay
 * valid is in `nameRules.ts`.
 */
import { childSuffix, migrationHashLength } from "./nameRules.js"

export const secretName = (workspace: string): string => `${workspace}${childSuffix.secret}`
export const databaseName = (workspace: string): string => `${workspace}${childSuffix.database}`
export const databaseHeadlessName = (workspace: string): string => `${workspace}${childSuffix.databaseHeadless}`
export const databaseVolumeName = (workspace: string): string => `${workspace}${childSuffix.databaseVolume}`
export const serverName = (workspace: string): string => `${workspace}${childSuffix.server}`
export const redisName = (workspace: string): string => `${workspace}${childSuffix.redis}`
/** Prefect's background services when the server runs several API replicas (`controllerReplicas` > 1). */
export const servicesName = (workspace: string): string => `${workspace}${childSuffix.services}`
export const migrationJobName = (workspace: string, hash: string): string =>
  `${workspace}${childSuffix.migration}${hash.slice(0, migrationHashLength)}`
export const backupJobName = (workspace: string, hash: string): string =>
  `${workspace}${childSuffix.backup}${hash.slice(0, migrationHashLength)}`
export const backupVolumeName = (workspace: string): string => `${workspace}${childSuffix.backupVolume}`
export const restoreJobName = (workspace: string, hash: string): string =>
  `${workspace}${childSuffix.restore}${hash.slice(0, migrationHashLength)}`
export const backupCronJobName = (workspace: string): string => `${workspace}${childSuffix.backupSchedule}`
export const agentName = (workspace: string, pool: string): string => `${workspace}${childSuffix.agent}${pool}`
