import { Watch } from "@cartographer/k8s"
import { Effect, Metric } from "effect"
import { describe, expect, it } from "vitest"
import * as Metrics from "../src/run/Metrics.js"

const scrape = (metrics: Metrics.OperatorMetrics) => Effect.runPromise(metrics.scrape)

const sample = (text: string, name: string, labels: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1))
}

describe("operator metrics", () => {
  it("exposes controller-runtime's series from the start, at zero", async () => {
    const { body, contentType } = await scrape(Metrics.make({ concurrency: 4, leaseName: "cartographer-operator" }))
    expect(contentType).toContain("text/plain")
    for (const result of ["success", "error", "requeue", "requeue_after"]) {
      expect(sample(body, "controller_runtime_reconcile_total", `controller="workspace",result="${result}"`)).toBe(0)
    }
    expect(sample(body, "controller_runtime_reconcile_errors_total", `controller="workspace"`)).toBe(0)
    expect(sample(body, "controller_runtime_max_concurrent_reconciles", `controller="workspace"`)).toBe(4)
    expect(sample(body, "workqueue_depth", `name="workspace",controller="workspace"`)).toBe(0)
    expect(sample(body, "leader_election_master_status", `name="cartographer-operator"`)).toBe(0)
    expect(body).toContain("# TYPE controller_runtime_reconcile_time_seconds histogram")
    expect(body).toMatch(/^process_resident_memory_bytes \d+/mu)
    expect(body).toMatch(/^process_cpu_seconds_total [\d.e+-]+/mu)
  })

  it("counts reconciles by result, times them, and follows the queue and the leadership", async () => {
    const metrics = Metrics.make({ concurrency: 1, leaseName: "lease" })
    metrics.reconciled("success", 0.2)
    metrics.reconciled("success", 0.3)
    metrics.reconciled("requeue", 0.01)
    metrics.reconciled("error", 1.5)
    metrics.reconciled("terminal", 0.1)
    metrics.queueAdd()
    metrics.queueAdd()
    metrics.queueRetry()
    metrics.queueDepth(3)
    metrics.leader(true)
    const { body } = await scrape(metrics)
    const w = `controller="workspace"`
    expect(sample(body, "controller_runtime_reconcile_total", `${w},result="success"`)).toBe(2)
    expect(sample(body, "controller_runtime_reconcile_total", `${w},result="requeue_after"`)).toBe(1)
    expect(sample(body, "controller_runtime_reconcile_total", `${w},result="error"`)).toBe(2)
    expect(sample(body, "controller_runtime_reconcile_errors_total", w)).toBe(2)
    expect(sample(body, "controller_runtime_terminal_reconcile_errors_total", w)).toBe(1)
    expect(sample(body, "controller_runtime_reconcile_time_seconds_count", w)).toBe(5)
    expect(sample(body, "controller_runtime_reconcile_time_seconds_bucket", `le="0.25",${w}`)).toBe(3)
    const q = `name="workspace",controller="workspace"`
    expect(sample(body, "workqueue_adds_total", q)).toBe(2)
    expect(sample(body, "workqueue_retries_total", q)).toBe(1)
    expect(sample(body, "workqueue_depth", q)).toBe(3)
    expect(sample(body, "leader_election_master_status", `name="lease"`)).toBe(1)
  })

  it("has no leader series when leader election is off", async () => {
    const { body } = await scrape(Metrics.make({ concurrency: 1 }))
    expect(body).not.toContain("leader_election_master_status")
  })

  it("exposes the watch streams' series of every watched kind from the start, at zero", async () => {
    const { body } = await scrape(Metrics.make({ concurrency: 1, watchedKinds: ["NetworkPolicy"] }))
    for (const name of ["lists", "expired", "failures", "synthesized_deletes"]) {
      expect(sample(body, `cartographer_k8s_watch_${name}_total`, `kind="NetworkPolicy"`)).toBe(0)
    }
  })

  it("appends the watch streams' counters, by kind", async () => {
    await Effect.runPromise(Metric.update(Metric.withAttributes(Watch.metrics.lists, { kind: "Deployment" }), 1))
    const { body } = await scrape(Metrics.make({ concurrency: 1 }))
    expect(body).toContain("# TYPE cartographer_k8s_watch_lists_total counter")
    expect(sample(body, "cartographer_k8s_watch_lists_total", `kind="Deployment"`)).toBeGreaterThanOrEqual(1)
  })
})
