import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Defaults, decodeWorkspace, encodeWorkspace, validateWorkspace, type WorkspaceEncoded } from "../src/index.js"
import { workspaceDocument } from "../testing/index.js"

const base = (): WorkspaceEncoded => ({
  apiVersion: "mlops.aigency.com/v1alpha1",
  kind: "Workspace",
  metadata: { name: "test-environment" },
  spec: { workflows: { agentPools: [{ name: "default" }] } },
})

/** Bad documents are built by mutating a copy freely; their type is deliberately loose. */
// biome-ignore lint/suspicious/noExplicitAny: test fixtures break the Workspace type on purpose
type Loose = any

/** `base()` with one change, written as a function of a mutable copy. */
const withChange = (change: (ws: Loose) => void): unknown => {
  const ws: Loose = structuredClone(base())
  change(ws)
  return ws
}

describe("Workspace Schema", () => {
  it("accepts the original Cartographer spec unchanged and fills every default", () => {
    const result = validateWorkspace({
      apiVersion: "mlops.aigency.com/v1alpha1",
      kind: "Workspace",
      metadata: { name: "test-environment" },
      spec: {
        workflows: {
          image: "prefecthq/prefect:3.9.1-python3.12",
          controllerReplicas: 1,
          databaseReplicas: 1,
          storageQuota: "16Gi",
          agentPools: [{ name: "default", image: "prefecthq/prefect:3.9.1-python3.12", replicas: 1 }],
        },
      },
    })
    expect(result.ok).toBe(true)
  })

  it("applies the stated defaults to a minimal document", () => {
    const result = validateWorkspace(base())
    if (!result.ok) throw new Error(JSON.stringify(result.issues))
    const w = result.value.spec.workflows
    expect(w.image).toBe(Defaults.defaultPrefectImage)
    expect(w.controllerReplicas).toBe(1)
    expect(w.databaseReplicas).toBe(1)
    expect(w.storageQuota).toBe("16Gi")
    expect(w.imagePullPolicy).toBe("IfNotPresent")
    expect(w.agentPools[0]).toEqual({ name: "default", replicas: 1, type: "process" })
    expect(w.server).toEqual({ uiApiUrl: "http://localhost:4200/api", logLevel: "INFO" })
    expect(w.database).toEqual({ deleteVolumeWithWorkspace: false })
    expect(w.networkPolicy).toEqual({ enabled: true })
  })

  it("accepts integer quantities as YAML authors write them and decodes them to strings", () => {
    const result = validateWorkspace(
      withChange((ws) => {
        ws.spec.workflows.agentPools[0].resources = { requests: { cpu: 1 }, limits: { memory: "1Gi" } }
      }),
    )
    expect(result.ok && result.value.spec.workflows.agentPools[0]?.resources).toEqual({
      requests: { cpu: "1" },
      limits: { memory: "1Gi" },
    })
  })

  it("calls a storageQuota above zero by its digits, not by a float that underflows (1e-400), as the API server does", () => {
    for (const quota of ["1e-400", "0.001", "1n", "16Gi"]) {
      const result = validateWorkspace(withChange((ws) => (ws.spec.workflows.storageQuota = quota)))
      expect(result.ok, quota).toBe(true)
    }
  })

  it("reads an explicit null as an absent field, as the API server does (`image:` with nothing after it)", () => {
    const result = validateWorkspace(
      withChange((ws) => {
        ws.spec.workflows.image = null
        ws.spec.workflows.agentPools[0].replicas = null
      }),
    )
    expect(result.ok && result.value.spec.workflows.image).toBe(Defaults.defaultPrefectImage)
    expect(result.ok && result.value.spec.workflows.agentPools[0]?.replicas).toBe(1)
    const required = validateWorkspace(withChange((ws) => (ws.spec.workflows.agentPools = null)))
    expect(required.ok ? [] : required.issues).toEqual([{ path: "spec.workflows.agentPools", message: "is required" }])
    // A field the Schema does not know is still reported, null or not, as the API server's strict validation does.
    const unknown = validateWorkspace(withChange((ws) => (ws.spec.workflows.imagee = null)))
    expect(unknown.ok ? [] : unknown.issues.map((i) => i.path)).toEqual(["spec.workflows.imagee"])
  })

  it("accepts every generated valid Workspace", () => {
    fc.assert(
      fc.property(workspaceDocument(), (doc) => {
        const result = validateWorkspace(doc)
        if (!result.ok) throw new Error(`${JSON.stringify(doc)}\n${JSON.stringify(result.issues)}`)
      }),
      { numRuns: 300 },
    )
  })

  it("round-trips: decode, encode, decode gives the same Workspace, and encoding makes every default explicit", () => {
    fc.assert(
      fc.property(workspaceDocument(), (doc) => {
        const first = validateWorkspace(doc)
        if (!first.ok) return false
        const encoded = encodeWorkspace(first.value)
        const second = validateWorkspace(encoded)
        expect(second).toEqual(first)
        expect(encodeWorkspace(second.ok ? second.value : first.value)).toEqual(encoded)
        expect(encoded.spec.workflows.storageQuota).toBeDefined()
        return true
      }),
      { numRuns: 300 },
    )
  })

  it("keeps values that were given instead of defaulting them", () => {
    fc.assert(
      fc.property(workspaceDocument(), (doc) => {
        const result = validateWorkspace(doc)
        if (!result.ok) return false
        const given = doc.spec.workflows
        const decoded = result.value.spec.workflows
        if (given.controllerReplicas !== undefined) expect(decoded.controllerReplicas).toBe(given.controllerReplicas)
        if (given.image !== undefined) expect(decoded.image).toBe(given.image)
        expect(decoded.agentPools.map((p) => p.name)).toEqual(given.agentPools.map((p) => p.name))
        return true
      }),
      { numRuns: 200 },
    )
  })

  it("decodeWorkspace fails with every issue at once, as a tagged error", async () => {
    const error = await Effect.runPromise(
      Effect.flip(
        decodeWorkspace(
          withChange((ws) => {
            ws.spec.workflows.databaseReplicas = 2
            ws.spec.workflows.agentPools[0].name = "Bad_Name"
          }),
        ),
      ),
    )
    expect(error._tag).toBe("WorkspaceValidationError")
    expect(error.issues.map((i) => i.path)).toEqual([
      "spec.workflows.databaseReplicas",
      "spec.workflows.agentPools[0].name",
    ])
    expect(error.message).toContain("spec.workflows.databaseReplicas: must be 0 or 1")
  })

  it("decodeWorkspace ignores unknown fields (the API server pruned them); validateWorkspace reports them", async () => {
    const doc = withChange((ws) => {
      ws.spec.workflows.controlerReplicas = 2
    })
    expect((await Effect.runPromise(decodeWorkspace(doc))).metadata.name).toBe("test-environment")
    expect(validateWorkspace(doc)).toEqual({
      ok: false,
      issues: [
        {
          path: "spec.workflows.controlerReplicas",
          message: "unknown field: not part of the Workspace schema (check its spelling and indentation)",
        },
      ],
    })
    expect(validateWorkspace(doc, { unknownFields: "ignore" }).ok).toBe(true)
  })

  it("allows ordinary Kubernetes metadata (finalizers, managedFields) even in strict mode", () => {
    const doc = withChange((ws) => {
      ws.metadata.finalizers = ["x/y"]
      ws.metadata.managedFields = [{ manager: "kubectl" }]
      ws.metadata.labels = { team: "ml" }
    })
    expect(validateWorkspace(doc).ok).toBe(true)
  })
})

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
