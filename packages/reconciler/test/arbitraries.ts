/**
 * fast-check generators for the planner's properties: Workspaces as users write them, decoded through the Schema (so
 * every generated value is one the operator could really receive), and observations of the world around them.
 */
import { Names, validateWorkspace, type Workspace } from "@cartographer/schema"
import fc from "fast-check"
// The Schema's own generators of what users write into a container's resources and quantities.
import { containerResources, quantity } from "../../schema/test/arbitraries.js"
import type { JobState, Observed, WorkloadObservation } from "../src/index.js"
import { encodeBase64 } from "../src/plan/secrets.js"

/** DNS-1123 labels of up to `max` characters (starting with a letter, so also DNS-1035). */
export const dnsLabel = (max: number): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"),
      fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), maxLength: Math.max(0, max - 2) }),
      fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
    )
    .map(([head, middle, tail]) => (max === 1 ? head : `${head}${middle}${tail}`))
    .filter((s) => s.length <= max)

/** User env, including names Cartographer reserves and duplicates, which the planner must drop deterministically. */
const envVar = fc.oneof(
  fc.record({
    name: fc.constantFrom(
      "FOO",
      "BAR_1",
      "my.var",
      "PREFECT_API_URL",
      "PREFECT_UI_API_URL",
      "PREFECT_SERVER_DATABASE_CONNECTION_URL",
      "PREFECT_API_DATABASE_CONNECTION_URL",
      "PREFECT_SERVER_DATABASE_TIMEOUT",
      "HOME",
      "PREFECT_INTEGRATIONS_KUBERNETES_WORKER_STORE_ENV_AS_SECRET",
    ),
    value: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("true", "no", "on", "0o17")),
  }),
  fc.record({
    name: fc.constantFrom("SECRET_A", "TOKEN", "FOO"),
    valueFrom: fc.oneof(
      fc.record({ secretKeyRef: fc.record({ name: dnsLabel(20), key: fc.constantFrom("a", "token") }) }),
      fc.record({ configMapKeyRef: fc.record({ name: dnsLabel(20), key: fc.constantFrom("b", "conf") }) }),
    ),
  }),
)

const image = fc.constantFrom(
  "prefecthq/prefect:3.9.1-python3.12",
  "prefecthq/prefect:3.8.8-python3.11",
  "prefecthq/prefect:3-latest",
  "registry.example.com/ml/prefect@sha256:0123456789abcdef",
)

export const poolDocument = (maxName: number) =>
  fc.record(
    {
      name: dnsLabel(Math.max(1, Math.min(maxName, 24))),
      image,
      replicas: fc.integer({ min: 0, max: 5 }),
      type: fc.constantFrom("process", "kubernetes"),
      concurrencyLimit: fc.integer({ min: 1, max: 100 }),
      workQueues: fc.array(fc.constantFrom("default", "nightly", "gpu", "no"), { maxLength: 3 }),
      jobNamespace: fc.oneof(dnsLabel(20), fc.constant("default")),
      resources: containerResources,
      env: fc.array(envVar, { maxLength: 3 }),
    },
    { requiredKeys: ["name"] },
  )

/** A Workspace document as a user writes it (the Schema's encoded form), with a random subset of optional fields. */
export const workspaceDocument = (options: { readonly maxNameLength?: number } = {}): fc.Arbitrary<unknown> =>
  dnsLabel(options.maxNameLength ?? Names.maxWorkspaceNameLength).chain((name) =>
    fc
      .record(
        {
          namespace: fc.oneof(fc.constant("default"), dnsLabel(30)),
          uid: fc.uuid(),
          generation: fc.integer({ min: 1, max: 1000 }),
          workflows: fc.record(
            {
              image,
              imagePullPolicy: fc.constantFrom("Always", "IfNotPresent", "Never"),
              imagePullSecrets: fc.array(dnsLabel(20), { maxLength: 2 }),
              controllerReplicas: fc.integer({ min: 0, max: 4 }),
              databaseReplicas: fc.integer({ min: 0, max: 1 }),
              storageQuota: quantity,
              storageClassName: dnsLabel(20),
              agentPools: fc.uniqueArray(poolDocument(Names.maxPoolNameLength(name)), {
                minLength: 1,
                maxLength: 4,
                selector: (p) => p.name,
              }),
              server: fc.record(
                {
                  resources: containerResources,
                  uiApiUrl: fc.constantFrom("http://localhost:4200/api", "https://prefect.example.com/api"),
                  logLevel: fc.constantFrom("DEBUG", "INFO", "WARNING"),
                  env: fc.array(envVar, { maxLength: 3 }),
                },
                { requiredKeys: [] },
              ),
              database: fc.record(
                {
                  image: fc.constantFrom("postgres:17.6", "postgres:16"),
                  resources: containerResources,
                  external: fc.record({
                    secretRef: fc.record(
                      { name: dnsLabel(20), key: fc.constantFrom("url", "connection-url") },
                      { requiredKeys: ["name"] },
                    ),
                  }),
                  deleteVolumeWithWorkspace: fc.boolean(),
                },
                { requiredKeys: [] },
              ),
              redis: fc.record(
                { image: fc.constant("redis:8.2"), resources: containerResources },
                { requiredKeys: [] },
              ),
              networkPolicy: fc.record({ enabled: fc.boolean() }, { requiredKeys: [] }),
              nodeSelector: fc.dictionary(fc.constantFrom("pool", "kubernetes.io/arch"), dnsLabel(10), { maxKeys: 2 }),
            },
            { requiredKeys: ["agentPools"] },
          ),
        },
        { requiredKeys: ["workflows"] },
      )
      .map(({ namespace, uid, generation, workflows }) => ({
        apiVersion: "mlops.aigency.com/v1alpha1",
        kind: "Workspace",
        metadata: {
          name,
          ...(namespace === undefined ? {} : { namespace }),
          ...(uid === undefined ? {} : { uid }),
          ...(generation === undefined ? {} : { generation }),
        },
        spec: { workflows },
      })),
  )

/** Decodes a generated document; a generator that produces something the Schema rejects is a bug here, not a skip. */
export const decode = (document: unknown): Workspace => {
  const result = validateWorkspace(document)
  if (!result.ok) throw new Error(`generated an invalid Workspace: ${JSON.stringify(result.issues)}`)
  return result.value
}

/** Valid Workspaces, decoded through the Schema (defaults applied). */
export const workspace = (options: { readonly maxNameLength?: number } = {}): fc.Arbitrary<Workspace> =>
  workspaceDocument(options).map(decode)

const hex8 = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 8, maxLength: 8 })

const rfc3339 = fc
  .date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date("2035-01-01T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString().replace(/\.\d{3}Z$/u, "Z"))

const workloadObservation: fc.Arbitrary<WorkloadObservation> = fc
  .record({
    generation: fc.integer({ min: 1, max: 10 }),
    lag: fc.integer({ min: 0, max: 1 }),
    specReplicas: fc.integer({ min: 0, max: 5 }),
    replicas: fc.integer({ min: 0, max: 6 }),
    readyReplicas: fc.integer({ min: 0, max: 5 }),
    updatedReplicas: fc.integer({ min: 0, max: 5 }),
    availableReplicas: fc.integer({ min: 0, max: 5 }),
    progressDeadlineExceeded: fc.boolean(),
  })
  .map(({ lag, ...w }) => ({ ...w, observedGeneration: w.generation - lag }))

/**
 * An arbitrary state of the world around `ws`: some children exist, in any state; older revisions may run.
 * `currentJobName` (the Job the plan would make) lets the migration gate's open and failed branches be reached.
 */
export const observedFor = (ws: Workspace, currentJobName?: string): fc.Arbitrary<Observed> => {
  const pools = ws.spec.workflows.agentPools.map((p) => p.name)
  const jobName = fc.oneof(
    fc.constant(currentJobName ?? `${ws.metadata.name}-orion-migrate-00000000`),
    hex8.map((h) => `${ws.metadata.name}-orion-migrate-${h}`),
  )
  const jobState: fc.Arbitrary<JobState> = fc.constantFrom("running", "succeeded", "failed")
  return fc.record(
    {
      now: rfc3339,
      generatedPassword: fc.string({ minLength: 1, maxLength: 40 }),
      secret: fc.oneof(
        fc.record({ password: fc.string({ maxLength: 30 }) }).map(({ password }) => ({
          data: { password: encodeBase64(password), username: encodeBase64("postgres") },
        })),
        fc.constant({ data: { orionDatabasePassword: encodeBase64("0d6f1e0c-legacy-guid") } }),
      ),
      database: workloadObservation,
      server: fc
        .record({
          w: workloadObservation,
          image: fc.constantFrom(
            "prefecthq/prefect:2-latest",
            "prefecthq/prefect:3.8.8-python3.11",
            ws.spec.workflows.image,
          ),
          migrationHash: fc.option(hex8, { nil: undefined }),
        })
        .map(({ w, image, migrationHash }) => ({
          ...w,
          image,
          ...(migrationHash === undefined ? {} : { migrationHash }),
        })),
      redis: workloadObservation,
      migrationJobs: fc.array(
        fc.record({ name: jobName, state: jobState, message: fc.constant("BackoffLimitExceeded: boom") }),
        { maxLength: 3 },
      ),
      pools: fc.uniqueArray(
        fc.record({ name: fc.constantFrom(...pools, "removed-pool"), w: workloadObservation }).map(({ name, w }) => ({
          name,
          ...w,
        })),
        { selector: (p) => p.name, maxLength: pools.length + 1 },
      ),
      rbacNamespaces: fc.array(dnsLabel(12), { maxLength: 2 }),
    },
    { requiredKeys: ["now", "generatedPassword"] },
  )
}
