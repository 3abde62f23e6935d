// Two operator replicas with leader election (a coordination.k8s.io Lease): the leader is killed with SIGKILL in the
// middle of converging Workspaces — no release of the Lease, no drain. The standby (caches already warm) must take
// over within the lease duration plus one retry period, finish the work, and the two must never write at the same
// time, as the API server's audit log shows (writes told apart by user agent; the field manager from the request).
// Short lease timings (4 s / 3 s / 1 s) and 10 Workspaces in the default run, which reports the takeover time but
// asserts no wall-clock bound; the production timings (15 s / 10 s / 2 s), 100 Workspaces and the takeover bound
// under `npm run chaos`.
import type { AuditEvent } from "@cartographer/test/harness"
import { mutatingVerbs, pollUntil } from "@cartographer/test/harness"
import { describe, expect, it } from "vitest"
import { auditTail, auditTime } from "../bench/support/auditTail.js"
import { operatorNamespace } from "../bench/support/benchCluster.js"
import { eventOf } from "../bench/support/operatorProcess.js"
import { createNamespace, createWorkspaces } from "../bench/support/setup.js"
import { startOperator, usePrivateCluster } from "./support/cluster.js"
import { fixpointWrites, waitConverged, waitSettled } from "./support/convergence.js"
import { bySize, chaosScale } from "./support/scale.js"

const { workspaces, lease } = bySize({
  smoke: { workspaces: 10, lease: { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 } },
  full: { workspaces: 100, lease: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } },
})
const cluster = usePrivateCluster()
const namespace = "failover"
const election = { namespace: operatorNamespace, name: "cartographer-chaos", ...lease }

const replicaOf = (e: AuditEvent): string | undefined =>
  /cartographer-engine-host\/(replica-[ab])/u.exec(e.userAgent ?? "")?.[1]
const fieldManagerOf = (e: AuditEvent): string =>
  new URL(e.requestURI, "https://x").searchParams.get("fieldManager") ?? "(none)"

describe("leader failover", () => {
  it(`a standby takes over within lease + retry when the leader is SIGKILLed mid-reconcile, and two leaders never write at once`, async () => {
    const c = cluster()
    await createNamespace(c.api, namespace)
    const tail = auditTail(c.controlPlane.auditLogPath, { fromEnd: true })
    await tail.read()
    const a = await startOperator(c, { identity: "replica-a", namespaces: [namespace], leaderElection: election })
    await a.waitFor(eventOf("leading"), 60_000)
    const b = await startOperator(c, { identity: "replica-b", namespaces: [namespace], leaderElection: election })
    await b.waitFor(eventOf("synced"), 60_000)
    expect(
      b.events.some((e) => e.event === "leading"),
      "two replicas lead at once",
    ).toBe(false)

    await createWorkspaces(c.api, namespace, workspaces)
    // Mid-reconcile: once the leader has made a few writes of the many convergence needs.
    const events: Array<AuditEvent> = []
    await pollUntil(
      "the leader made five writes",
      async () => {
        events.push(...(await tail.read()))
        const childWrites = events.filter(
          (e) => replicaOf(e) === "replica-a" && mutatingVerbs.has(e.verb) && e.objectRef?.resource !== "leases",
        )
        return childWrites.length >= 5
      },
      { timeoutMs: 120_000, intervalMs: 5 },
    )
    const killedAt = Date.now()
    await a.kill()
    // Generous: how soon is checked below (full scale only), not by this timeout.
    const leading = await b.waitFor(eventOf("leading"), lease.leaseDurationMs * 3 + 60_000)
    const takeoverMs = leading.t - killedAt

    await waitConverged(c, namespace, 180_000, b)
    await waitSettled(c, namespace, b)
    events.push(...(await tail.read()))
    await b.stop()

    const writes = events.filter((e) => mutatingVerbs.has(e.verb) && replicaOf(e) !== undefined)
    const lastOfA = Math.max(
      ...writes.filter((e) => replicaOf(e) === "replica-a").map((e) => auditTime(e.stageTimestamp)),
    )
    const firstOfB = Math.min(
      ...writes.filter((e) => replicaOf(e) === "replica-b").map((e) => auditTime(e.requestReceivedTimestamp)),
    )
    const managers = [...new Set(writes.map((e) => `${replicaOf(e)} ${e.objectRef?.resource}: ${fieldManagerOf(e)}`))]
    process.stderr.write(
      `[failover] takeover ${takeoverMs} ms (lease ${lease.leaseDurationMs} ms, retry ${lease.retryPeriodMs} ms); ` +
        `A's last write ${new Date(lastOfA).toISOString()}, B's first ${new Date(firstOfB).toISOString()}; ` +
        `${writes.length} writes by ${managers.join(", ")}\n`,
    )
    // Takeover: the standby waits out the lease from its own last sight of a renewal, polling every retry period
    // (with jitter up to 1.2×); a second of slack for process scheduling. A bound in wall-clock time, so only
    // `npm run chaos` (run on purpose, on a machine left alone) asserts it; the default run reports it above.
    if (chaosScale() === "full")
      expect(takeoverMs).toBeLessThanOrEqual(lease.leaseDurationMs + 1.2 * lease.retryPeriodMs + 1_000)
    expect(lastOfA, "the killed leader wrote after the standby had started").toBeLessThan(firstOfB)
    expect(writes.some((e) => replicaOf(e) === "replica-b" && fieldManagerOf(e) === "cartographer")).toBe(true)
    expect(await fixpointWrites(c, namespace)).toEqual([])
  }, 900_000)
})
