// validateWorkspace's refusals: for every kind of bad input, the exact path and the exact message a user reads.
import { describe, expect, it } from "vitest"
import { validateWorkspace } from "../src/index.js"
import { setAt, withChange } from "./fixtures.js"

const DNS_LABEL =
  "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. default, gpu-jobs)"
const QUANTITY =
  "must be a non-negative Kubernetes quantity such as 16Gi, 500Mi, 250m or 2 (a number with an optional unit suffix)"
const WS_NAME =
  "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending alphanumeric"
const DB_REPLICAS =
  "must be 0 or 1: the in-cluster Postgres is a single instance (Postgres replication is not provided); for a replicated database set spec.workflows.database.external.secretRef"
const ENV_ONE_OF = "must set exactly one of value or valueFrom"

type BadInput = readonly [what: string, document: unknown, path: string, message: string]

/** The case of one field set to `value`, read back at the path it was set at: `path` is written once. */
const valueAt = (what: string, path: string, value: unknown, message: string): BadInput => [
  what,
  withChange((ws) => setAt(ws, path, value)),
  path,
  message,
]

/** [what is wrong, the document, the exact path, the exact message] */
const badInputs: ReadonlyArray<BadInput> = [
  ["not an object", "hello", "", 'Expected object, got "hello"'],
  ["null", null, "", "Expected object, got null"],
  ["missing apiVersion", withChange((ws) => delete ws.apiVersion), "apiVersion", "is required"],
  valueAt(
    "wrong apiVersion",
    "apiVersion",
    "mlops.aigency.com/v1",
    'Expected "mlops.aigency.com/v1alpha1", got "mlops.aigency.com/v1"',
  ),
  valueAt("wrong kind", "kind", "Workspaces", 'Expected "Workspace", got "Workspaces"'),
  ["missing metadata", withChange((ws) => delete ws.metadata), "metadata", "is required"],
  ["missing name", withChange((ws) => delete ws.metadata.name), "metadata.name", "is required"],
  valueAt("empty name", "metadata.name", "", "must not be empty"),
  valueAt("uppercase name", "metadata.name", "Test", WS_NAME),
  valueAt("name starting with a digit", "metadata.name", "1abc", WS_NAME),
  valueAt("name ending with a dash", "metadata.name", "abc-", WS_NAME),
  valueAt("name with a dot", "metadata.name", "a.b", WS_NAME),
  valueAt(
    "name too long for derived names",
    "metadata.name",
    "a".repeat(38),
    "must be at most 37 characters, so that every derived object name and its pods' labels fit in 63 characters",
  ),
  ["missing spec", withChange((ws) => delete ws.spec), "spec", "is required"],
  ["missing workflows", withChange((ws) => delete ws.spec.workflows), "spec.workflows", "is required"],
  [
    "missing agentPools",
    withChange((ws) => delete ws.spec.workflows.agentPools),
    "spec.workflows.agentPools",
    "is required",
  ],
  valueAt("no pools", "spec.workflows.agentPools", [], "must list at least one pool, e.g. [{ name: default }]"),
  valueAt("agentPools not a list", "spec.workflows.agentPools", { name: "a" }, 'Expected array, got {"name":"a"}'),
  valueAt(
    "too many pools",
    "spec.workflows.agentPools",
    Array.from({ length: 51 }, (_, i) => ({ name: `p${i}` })),
    "must list at most 50 pools",
  ),
  [
    "pool without name",
    withChange((ws) => (ws.spec.workflows.agentPools = [{ replicas: 1 }])),
    "spec.workflows.agentPools[0].name",
    "is required",
  ],
  valueAt("pool name with underscore", "spec.workflows.agentPools[0].name", "my_pool", DNS_LABEL),
  valueAt("pool name uppercase", "spec.workflows.agentPools[0].name", "Default", DNS_LABEL),
  valueAt("pool name empty", "spec.workflows.agentPools[0].name", "", DNS_LABEL),
  [
    "duplicate pool names",
    withChange((ws) => ws.spec.workflows.agentPools.push({ name: "default" })),
    "spec.workflows.agentPools[1].name",
    'duplicate pool name "default": pool names must be unique',
  ],
  valueAt(
    "derived agent name over 63",
    "spec.workflows.agentPools[0].name",
    "p".repeat(41),
    '"test-environment-agent-ppppppppppppppppppppppppppppppppppppppppp" (<workspace>-agent-<pool>) is 64 characters, over 63: shorten the pool name to at most 40 characters or the Workspace name',
  ),
  valueAt("negative pool replicas", "spec.workflows.agentPools[0].replicas", -1, "must be 0 or more"),
  valueAt("fractional pool replicas", "spec.workflows.agentPools[0].replicas", 1.5, "Expected an integer, got 1.5"),
  valueAt("replicas as a string", "spec.workflows.agentPools[0].replicas", "2", 'Expected number, got "2"'),
  valueAt("absurd replicas", "spec.workflows.agentPools[0].replicas", 5000, "must be at most 1000"),
  valueAt(
    "unknown pool type",
    "spec.workflows.agentPools[0].type",
    "docker",
    'Expected "process" | "kubernetes", got "docker"',
  ),
  valueAt(
    "concurrency limit 0",
    "spec.workflows.agentPools[0].concurrencyLimit",
    0,
    "must be 1 or more (leave it out for no limit)",
  ),
  valueAt(
    "job namespace invalid",
    "spec.workflows.agentPools[0].jobNamespace",
    "Jobs",
    "must be a namespace name (DNS-1123 label)",
  ),
  valueAt(
    "image with a space",
    "spec.workflows.image",
    "prefect latest",
    "must be an image reference such as prefecthq/prefect:3.9.1-python3.12",
  ),
  valueAt(
    "pool image empty",
    "spec.workflows.agentPools[0].image",
    "",
    "must be an image reference such as prefecthq/prefect:3.9.1-python3.12",
  ),
  valueAt("negative controllerReplicas", "spec.workflows.controllerReplicas", -1, "must be 0 or more"),
  valueAt("databaseReplicas 2", "spec.workflows.databaseReplicas", 2, DB_REPLICAS),
  valueAt("negative databaseReplicas", "spec.workflows.databaseReplicas", -1, "must be 0 or more"),
  valueAt("storageQuota not a quantity", "spec.workflows.storageQuota", "lots", QUANTITY),
  valueAt("storageQuota with a bad unit", "spec.workflows.storageQuota", "16GB", QUANTITY),
  valueAt("storageQuota negative", "spec.workflows.storageQuota", "-1Gi", QUANTITY),
  valueAt("storageQuota zero", "spec.workflows.storageQuota", "0", "must be greater than zero, e.g. 16Gi"),
  valueAt(
    "storageQuota zero with a unit and an exponent",
    "spec.workflows.storageQuota",
    "0.00e9",
    "must be greater than zero, e.g. 16Gi",
  ),
  valueAt(
    "storageClassName invalid",
    "spec.workflows.storageClassName",
    "Fast SSD",
    "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
  ),
  valueAt(
    "imagePullPolicy unknown",
    "spec.workflows.imagePullPolicy",
    "Sometimes",
    'Expected "Always" | "IfNotPresent" | "Never", got "Sometimes"',
  ),
  [
    "resource quantity invalid",
    withChange((ws) => (ws.spec.workflows.agentPools[0].resources = { limits: { memory: "1 GB" } })),
    "spec.workflows.agentPools[0].resources.limits.memory",
    QUANTITY,
  ],
  [
    "env var with both value and valueFrom",
    withChange(
      (ws) =>
        (ws.spec.workflows.agentPools[0].env = [
          { name: "A", value: "x", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
        ]),
    ),
    "spec.workflows.agentPools[0].env[0]",
    ENV_ONE_OF,
  ],
  [
    "env var with neither",
    withChange((ws) => (ws.spec.workflows.server = { env: [{ name: "A" }] })),
    "spec.workflows.server.env[0]",
    ENV_ONE_OF,
  ],
  [
    "env var with an invalid name",
    withChange((ws) => (ws.spec.workflows.server = { env: [{ name: "1A", value: "x" }] })),
    "spec.workflows.server.env[0].name",
    "must be an environment variable name: letters, digits, '_', '-' or '.', not starting with a digit",
  ],
  [
    "env var with two sources",
    withChange(
      (ws) =>
        (ws.spec.workflows.server = {
          env: [
            {
              name: "A",
              valueFrom: { secretKeyRef: { name: "s", key: "k" }, configMapKeyRef: { name: "c", key: "k" } },
            },
          ],
        }),
    ),
    "spec.workflows.server.env[0].valueFrom",
    "must set exactly one of secretKeyRef or configMapKeyRef",
  ],
  [
    "external database without secret name",
    withChange((ws) => (ws.spec.workflows.database = { external: { secretRef: {} } })),
    "spec.workflows.database.external.secretRef.name",
    "is required",
  ],
  [
    "server log level unknown",
    withChange((ws) => (ws.spec.workflows.server = { logLevel: "TRACE" })),
    "spec.workflows.server.logLevel",
    'Expected "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL", got "TRACE"',
  ],
  [
    "uiApiUrl empty",
    withChange((ws) => (ws.spec.workflows.server = { uiApiUrl: "" })),
    "spec.workflows.server.uiApiUrl",
    "must not be empty",
  ],
  [
    "a request above its limit",
    withChange((ws) => (ws.spec.workflows.server = { resources: { requests: { cpu: 2 }, limits: { cpu: "1500m" } } })),
    "spec.workflows.server.resources.requests.cpu",
    "must not be more than limits.cpu (1500m)",
  ],
  [
    "a fractional GPU",
    withChange((ws) => (ws.spec.workflows.agentPools[0].resources = { limits: { "nvidia.com/gpu": "0.5" } })),
    'spec.workflows.agentPools[0].resources.limits["nvidia.com/gpu"]',
    "must be a whole number such as 1 or 2: extended resources are counted in units",
  ],
  [
    "a GPU request without a limit",
    withChange((ws) => (ws.spec.workflows.agentPools[0].resources = { requests: { "nvidia.com/gpu": 1 } })),
    'spec.workflows.agentPools[0].resources.requests["nvidia.com/gpu"]',
    "must equal limits.nvidia.com/gpu: Kubernetes never overcommits nvidia.com/gpu, so it needs a limit of the same amount",
  ],
  [
    "a resource name without a domain",
    withChange((ws) => (ws.spec.workflows.database = { resources: { limits: { gpu: 1 } } })),
    "spec.workflows.database.resources.limits.gpu",
    "must be cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource with a domain, such as nvidia.com/gpu",
  ],
  [
    "too many resources",
    withChange(
      (ws) =>
        (ws.spec.workflows.redis = {
          resources: { limits: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`example.com/r${i}`, 1])) },
        }),
    ),
    "spec.workflows.redis.resources.limits",
    "must list at most 16 resources",
  ],
  valueAt(
    "a quantity too long to be one",
    "spec.workflows.storageQuota",
    `${"1".repeat(64)}Gi`,
    "must be at most 64 characters",
  ),
  valueAt(
    "unknown field in workflows",
    "spec.workflows.replicas",
    3,
    "unknown field: not part of the Workspace schema (check its spelling and indentation)",
  ),
]

describe("Workspace Schema rejects bad input with the exact path and message", () => {
  it("has at least 40 cases", () => expect(badInputs.length).toBeGreaterThanOrEqual(40))
  it.each(badInputs)("%s", (_, doc, path, message) => {
    const result = validateWorkspace(doc)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issues).toContainEqual({ path, message })
  })
})
