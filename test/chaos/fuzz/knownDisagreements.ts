// Disagreements between the Schema and the API server with the generated CRD that the fuzzer found and that are
// known: each with the class it matches, a minimal reproducer, and whether it is a bug (and whose) or intended.
// The fuzz suite fails on any class not listed here; the bugs also have a reproducer test marked `fails`, which
// starts failing (so this list gets updated) the day the bug is fixed.
import type { Json } from "./documents.js"

export interface KnownDisagreement {
  /** Matches `classOf(disagreement)`. */
  readonly match: RegExp
  readonly status: "bug" | "intended"
  /** One behaviour sentence: what should hold (bugs) or what holds and why (intended). */
  readonly behaviour: string
  readonly why: string
  readonly reproducer: Json
}

const workspace = (workflows: Record<string, Json>): Json => ({
  apiVersion: "mlops.aigency.com/v1alpha1",
  kind: "Workspace",
  metadata: { name: "ws" },
  spec: { workflows: { agentPools: [{ name: "a" }], ...workflows } },
})

export const knownDisagreements: ReadonlyArray<KnownDisagreement> = [
  {
    match: /^decoded-differently: a lone surrogate came back as U\+FFFD$/u,
    status: "intended",
    behaviour: "a lone UTF-16 surrogate in a string comes back from the API server as U+FFFD",
    why:
      "Objects are stored as UTF-8, where a lone surrogate cannot exist; Go's JSON decoder replaces it. It can only be " +
      "sent as a JSON `\\ud800` escape (a YAML file is already UTF-8), and no field gives it meaning.",
    reproducer: workspace({ podAnnotations: { note: "a\ud800" } }),
  },
]

/**
 * Disagreements the fuzzer found that are fixed: both sides now refuse each reproducer (with a path), or both accept
 * it and decode it alike.
 */
export const fixedDisagreements: ReadonlyArray<{
  readonly behaviour: string
  readonly both: "reject" | "accept"
  readonly reproducer: Json
}> = [
  {
    behaviour: "an explicit null in an optional field means the same to the Schema as to the API server: absent",
    both: "accept",
    reproducer: workspace({ image: null }),
  },
  {
    behaviour: "the Schema and the CRD agree that a storageQuota of 1e-400 is greater than zero",
    both: "accept",
    reproducer: workspace({ storageQuota: "1e-400" }),
  },
  {
    behaviour:
      "the CRD rejects an image with whitespace that RE2's \\s does not know (\\v here), as the Schema does: the " +
      "pattern is the ASCII range `[!-~]`, which RE2 and JavaScript read alike",
    both: "reject",
    reproducer: workspace({ image: "a\u000bb" }),
  },
  {
    behaviour:
      "the CRD rejects a negative integer quantity, as the Schema does (int-or-string nodes keep `minimum: 0`)",
    both: "reject",
    reproducer: workspace({ server: { resources: { limits: { cpu: -1 } } } }),
  },
  {
    behaviour: "the CRD rejects an integer quantity above 2^53 - 1, as the Schema does",
    both: "reject",
    reproducer: workspace({ agentPools: [{ name: "a", resources: { requests: { cpu: 2 ** 53 + 2 } } }] }),
  },
  {
    behaviour: "the CRD rejects a concurrencyLimit above 2^53 - 1, as the Schema does",
    both: "reject",
    reproducer: workspace({ agentPools: [{ name: "a", concurrencyLimit: 2 ** 53 + 2 }] }),
  },
]
