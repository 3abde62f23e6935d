// validateWorkspace's refusals: for every kind of bad input, the exact path and the exact message a user reads.
import { describe, expect, it } from "vitest"
import { validateWorkspace } from "../src/index.js"
import { withChange } from "./fixtures.js"

const DNS_LABEL =
  "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. default, gpu-jobs)"
const QUANTITY =
  "must be a non-negative Kubernetes quantity such as 16Gi, 500Mi, 250m or 2 (a number with an optional unit suffix)"
const WS_NAME =
  "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending alphanumeric"
const DB_REPLICAS =
  "must be 0 or 1: the in-cluster Postgres is a single instance (Postgres replication is not provided); for a replicated database set spec.workflows.database.external.secretRef"
const ENV_ONE_OF = "must set exactly one of value or valueFrom"

/** [what is wrong, the document, the exact path, the exact message] */
const badInputs: ReadonlyArray<readonly [string, unknown, string, string]> = [
  ["not an object", "hello", "", 'Expected object, got "hello"'],
  ["null", null, "", "Expected object, got null"],
  ["missing apiVersion", withChange((ws) => delete ws.apiVersion), "apiVersion", "is required"],
  [
    "wrong apiVersion",
    withChange((ws) => (ws.apiVersion = "mlops.aigency.com/v1")),
    "apiVersion",
    'Expected "mlops.aigency.com/v1alpha1", got "mlops.aigency.com/v1"',
  ],
  ["wrong kind", withChange((ws) => (ws.kind = "Workspaces")), "kind", 'Expected "Workspace", got "Workspaces"'],
  ["missing metadata", withChange((ws) => delete ws.metadata), "metadata", "is required"],
  ["missing name", withChange((ws) => delete ws.metadata.name), "metadata.name", "is required"],
  ["empty name", withChange((ws) => (ws.metadata.name = "")), "metadata.name", "must not be empty"],
  ["uppercase name", withChange((ws) => (ws.metadata.name = "Test")), "metadata.name", WS_NAME],
  ["name starting with a digit", withChange((ws) => (ws.metadata.name = "1abc")), "metadata.name", WS_NAME],
  ["name ending with a dash", withChange((ws) => (ws.metadata.name = "abc-")), "metadata.name", WS_NAME],
  ["name with a dot", withChange((ws) => (ws.metadata.name = "a.b")), "metadata.name", WS_NAME],
  [
    "name too long for derived names",
    withChange((ws) => (ws.metadata.name = "a".repeat(38))),
    "metadata.name",
    "must be at most 37 characters, so that every derived object name and its pods' labels fit in 63 characters",
  ],
  ["missing spec", withChange((ws) => delete ws.spec), "spec", "is required"],
  ["missing workflows", withChange((ws) => delete ws.spec.workflows), "spec.workflows", "is required"],
  [
    "missing agentPools",
    withChange((ws) => delete ws.spec.workflows.agentPools),
    "spec.workflows.agentPools",
    "is required",
  ],
  [
    "no pools",
    withChange((ws) => (ws.spec.workflows.agentPools = [])),
    "spec.workflows.agentPools",
    "must list at least one pool, e.g. [{ name: default }]",
  ],
  [
    "agentPools not a list",
    withChange((ws) => (ws.spec.workflows.agentPools = { name: "a" })),
    "spec.workflows.agentPools",
    'Expected array, got {"name":"a"}',
  ],
  [
    "too many pools",
    withChange((ws) => (ws.spec.workflows.agentPools = Array.from({ length: 51 }, (_, i) => ({ name: `p${i}` })))),
    "spec.workflows.agentPools",
    "must list at most 50 pools",
  ],
  [
    "pool without name",
    withChange((ws) => (ws.spec.workflows.agentPools = [{ replicas: 1 }])),
    "spec.workflows.agentPools[0].name",
    "is required",
  ],
  [
    "pool name with underscore",
    withChange((ws) => (ws.spec.workflows.agentPools[0].name = "my_pool")),
    "spec.workflows.agentPools[0].name",
    DNS_LABEL,
  ],
  [
    "pool name uppercase",
    withChange((ws) => (ws.spec.workflows.agentPools[0].name = "Default")),
    "spec.workflows.agentPools[0].name",
    DNS_LABEL,
  ],
  [
    "pool name empty",
    withChange((ws) => (ws.spec.workflows.agentPools[0].name = "")),
    "spec.workflows.agentPools[0].name",
    DNS_LABEL,
  ],
  [
    "duplicate pool names",
    withChange((ws) => ws.spec.workflows.agentPools.push({ name: "default" })),
    "spec.workflows.agentPools[1].name",
    'duplicate pool name "default": pool names must be unique',
  ],
  [
    "derived agent name over 63",
    withChange((ws) => (ws.spec.workflows.agentPools[0].name = "p".repeat(41))),
    "spec.workflows.agentPools[0].name",
    '"test-environment-agent-ppppppppppppppppppppppppppppppppppppppppp" (<workspace>-agent-<pool>) is 64 characters, over 63: shorten the pool name to at most 40 characters or the Workspace name',
  ],
  [
    "negative pool replicas",
    withChange((ws) => (ws.spec.workflows.agentPools[0].replicas = -1)),
    "spec.workflows.agentPools[0].replicas",
    "must be 0 or more",
  ],
  [
    "fractional pool replicas",
    withChange((ws) => (ws.spec.workflows.agentPools[0].replicas = 1.5)),
    "spec.workflows.agentPools[0].replicas",
    "Expected an integer, got 1.5",
  ],
  [
    "replicas as a string",
    withChange((ws) => (ws.spec.workflows.agentPools[0].replicas = "2")),
    "spec.workflows.agentPools[0].replicas",
    'Expected number, got "2"',
  ],
  [
    "absurd replicas",
    withChange((ws) => (ws.spec.workflows.agentPools[0].replicas = 5000)),
    "spec.workflows.agentPools[0].replicas",
    "must be at most 1000",
  ],
  [
    "unknown pool type",
    withChange((ws) => (ws.spec.workflows.agentPools[0].type = "docker")),
    "spec.workflows.agentPools[0].type",
    'Expected "process" | "kubernetes", got "docker"',
  ],
  [
    "concurrency limit 0",
    withChange((ws) => (ws.spec.workflows.agentPools[0].concurrencyLimit = 0)),
    "spec.workflows.agentPools[0].concurrencyLimit",
    "must be 1 or more (leave it out for no limit)",
  ],
  [
    "job namespace invalid",
    withChange((ws) => (ws.spec.workflows.agentPools[0].jobNamespace = "Jobs")),
    "spec.workflows.agentPools[0].jobNamespace",
    "must be a namespace name (DNS-1123 label)",
  ],
  [
    "image with a space",
    withChange((ws) => (ws.spec.workflows.image = "prefect latest")),
    "spec.workflows.image",
    "must be an image reference such as prefecthq/prefect:3.9.1-python3.12",
  ],
  [
    "pool image empty",
    withChange((ws) => (ws.spec.workflows.agentPools[0].image = "")),
    "spec.workflows.agentPools[0].image",
    "must be an image reference such as prefecthq/prefect:3.9.1-python3.12",
  ],
  [
    "negative controllerReplicas",
    withChange((ws) => (ws.spec.workflows.controllerReplicas = -1)),
    "spec.workflows.controllerReplicas",
    "must be 0 or more",
  ],
  [
    "databaseReplicas 2",
    withChange((ws) => (ws.spec.workflows.databaseReplicas = 2)),
    "spec.workflows.databaseReplicas",
    DB_REPLICAS,
  ],
  [
    "negative databaseReplicas",
    withChange((ws) => (ws.spec.workflows.databaseReplicas = -1)),
    "spec.workflows.databaseReplicas",
    "must be 0 or more",
  ],
  [
    "storageQuota not a quantity",
    withChange((ws) => (ws.spec.workflows.storageQuota = "lots")),
    "spec.workflows.storageQuota",
    QUANTITY,
  ],
  [
    "storageQuota with a bad unit",
    withChange((ws) => (ws.spec.workflows.storageQuota = "16GB")),
    "spec.workflows.storageQuota",
    QUANTITY,
  ],
  [
    "storageQuota negative",
    withChange((ws) => (ws.spec.workflows.storageQuota = "-1Gi")),
    "spec.workflows.storageQuota",
    QUANTITY,
  ],
  [
    "storageQuota zero",
    withChange((ws) => (ws.spec.workflows.storageQuota = "0")),
    "spec.workflows.storageQuota",
    "must be greater than zero, e.g. 16Gi",
  ],
  [
    "storageQuota zero with a unit and an exponent",
    withChange((ws) => (ws.spec.workflows.storageQuota = "0.00e9")),
    "spec.workflows.storageQuota",
    "must be greater than zero, e.g. 16Gi",
  ],
  [
    "storageClassName invalid",
    withChange((ws) => (ws.spec.workflows.storageClassName = "Fast SSD")),
    "spec.workflows.storageClassName",
    "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
  ],
  [
    "imagePullPolicy unknown",
    withChange((ws) => (ws.spec.workflows.imagePullPolicy = "Sometimes")),
    "spec.workflows.imagePullPolicy",
    'Expected "Always" | "IfNotPresent" | "Never", got "Sometimes"',
  ],
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
  [
    "a quantity too long to be one",
    withChange((ws) => (ws.spec.workflows.storageQuota = `${"1".repeat(64)}Gi`)),
    "spec.workflows.storageQuota",
    "must be at most 64 characters",
  ],
  [
    "unknown field in workflows",
    withChange((ws) => (ws.spec.workflows.replicas = 3)),
    "spec.workflows.replicas",
    "unknown field: not part of the Workspace schema (check its spelling and indentation)",
  ],
]

describe("Workspace Schema rejects bad input with the exact path and message", () => {
  it("has at least 40 cases", () => expect(badInputs.length).toBeGreaterThanOrEqual(40))
  it.each(badInputs)("%s", (_, doc, path, message) => {
    const result = validateWorkspace(doc)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.issues).toContainEqual({ path, message })
  })
})
