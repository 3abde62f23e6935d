// The API server's audit log (JSON lines, level Metadata, one event per request at ResponseComplete): later
// suites count who mutated what, e.g. "the operator made no writes during a steady-state resync".
import { randomBytes } from "node:crypto"
import { readFile } from "node:fs/promises"
import { pollUntil } from "./poll.js"

/** Every request at Metadata level, logged once when its response is complete (or the handler panicked). */
export const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  - level: Metadata
`

export interface AuditEvent {
  readonly auditID: string
  readonly stage: string
  readonly verb: string
  readonly requestURI: string
  readonly user: { readonly username: string; readonly groups?: ReadonlyArray<string> }
  readonly userAgent?: string
  readonly objectRef?: {
    readonly resource?: string
    readonly namespace?: string
    readonly name?: string
    readonly apiGroup?: string
    readonly apiVersion?: string
    readonly subresource?: string
  }
  readonly responseStatus?: { readonly code?: number }
  readonly requestReceivedTimestamp: string
  readonly stageTimestamp: string
}

export const mutatingVerbs: ReadonlySet<string> = new Set(["create", "update", "patch", "delete", "deletecollection"])

export interface AuditFilter {
  /** Exact username, e.g. "system:serviceaccount:ns:name" or the harness admin. */
  readonly user?: string
  /** Only create/update/patch/delete/deletecollection. */
  readonly mutating?: boolean
  readonly verbs?: ReadonlyArray<string>
  readonly resource?: string
  readonly namespace?: string
  readonly name?: string
  /** Only events whose request arrived at or after this time. */
  readonly since?: Date
  readonly where?: (event: AuditEvent) => boolean
}

const matches = (event: AuditEvent, filter: AuditFilter): boolean =>
  (filter.user === undefined || event.user.username === filter.user) &&
  (filter.mutating === undefined || mutatingVerbs.has(event.verb) === filter.mutating) &&
  (filter.verbs === undefined || filter.verbs.includes(event.verb)) &&
  (filter.resource === undefined || event.objectRef?.resource === filter.resource) &&
  (filter.namespace === undefined || event.objectRef?.namespace === filter.namespace) &&
  (filter.name === undefined || event.objectRef?.name === filter.name) &&
  (filter.since === undefined || Date.parse(event.requestReceivedTimestamp) >= filter.since.getTime()) &&
  (filter.where === undefined || filter.where(event))

/** The audit events in `path` that match `filter`, oldest first. A partly written last line is skipped. */
export const readAudit = async (path: string, filter: AuditFilter = {}): Promise<ReadonlyArray<AuditEvent>> => {
  const text = await readFile(path, "utf8")
  const events: AuditEvent[] = []
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    let event: AuditEvent
    try {
      event = JSON.parse(line) as AuditEvent
    } catch {
      continue
    }
    if (matches(event, filter)) events.push(event)
  }
  return events
}

/**
 * Waits until the audit log holds every request that completed before this call: it makes a request of its own
 * (`get`: a GET of a ConfigMap in `default` that no one else names, whatever the answer) and waits until the log
 * shows it. The
 * log backend writes each event as its request completes, so once the sentinel is in, a count of writes taken
 * afterwards cannot miss a late one, as a fixed sleep could.
 */
export const auditSentinel = async (
  path: string,
  get: (configMap: { readonly name: string; readonly path: string }) => Promise<unknown>,
): Promise<void> => {
  const name = `audit-sentinel-${randomBytes(6).toString("hex")}`
  await get({ name, path: `/api/v1/namespaces/default/configmaps/${name}` })
  await pollUntil(
    `the audit log shows the sentinel request ${name}`,
    async () => (await readAudit(path, { resource: "configmaps", name })).length > 0,
    { timeoutMs: 30_000, intervalMs: 50 },
  )
}
