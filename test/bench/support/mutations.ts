// The mutating requests of a benchmark run, read from the API server's audit log as they come: the operator's (what
// it costs), everybody else's (the drift test's deletions), and the operator's watches as they end.
import { type AuditEvent, mutatingVerbs } from "@cartographer/test/harness"
import { type AuditTail, auditTime } from "./auditTail.js"

/** Mutating requests, read from the audit log as they come: the operator's, and the deletions of the drift test. */
export class Mutations {
  /** The operator's, but for its leader election. */
  readonly all: Array<AuditEvent> = []
  /** The operator's writes of its Lease (leader election renews it every few seconds). */
  readonly lease: Array<AuditEvent> = []
  /** Everybody else's. */
  readonly others: Array<AuditEvent> = []
  /** The operator's watch connections that ended (the audit log records a watch when it ends). */
  readonly watchesEnded: Array<AuditEvent> = []
  private readonly tail: AuditTail
  private readonly user: string
  constructor(tail: AuditTail, user: string) {
    this.tail = tail
    this.user = user
  }
  /** The operator's new mutating requests (but for its Lease). */
  async poll(): Promise<ReadonlyArray<AuditEvent>> {
    const read = await this.tail.read()
    this.watchesEnded.push(...read.filter((e) => e.verb === "watch" && e.user.username === this.user))
    const fresh = read.filter((e) => mutatingVerbs.has(e.verb))
    const mine = fresh.filter((e) => e.user.username === this.user && e.objectRef?.resource !== "leases")
    this.lease.push(...fresh.filter((e) => e.user.username === this.user && e.objectRef?.resource === "leases"))
    this.all.push(...mine)
    this.others.push(...fresh.filter((e) => e.user.username !== this.user))
    return mine
  }
  since(t: number): ReadonlyArray<AuditEvent> {
    return this.all.filter((e) => auditTime(e.requestReceivedTimestamp) >= t)
  }
}
