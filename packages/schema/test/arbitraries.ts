/**
 * fast-check generators of Workspace documents as users write them (encoded form): valid ones covering every
 * optional field, so that properties exercise the whole Schema.
 */
import fc from "fast-check"
import { compareQuantities, Names, type WorkspaceEncoded } from "../src/index.js"

const label = (max: number) => fc.stringMatching(/^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$/).filter((s) => s.length <= max)

export const quantity = fc.oneof(
  fc.integer({ min: 1, max: 4096 }).map((n) => `${n}Mi`),
  fc.integer({ min: 1, max: 64 }).map((n) => `${n}Gi`),
  fc.integer({ min: 1, max: 4000 }).map((n) => `${n}m`),
  fc.integer({ min: 1, max: 16 }),
)

/**
 * Resources a container may have: a request above its limit swaps with it, and GPUs (an extended resource) are
 * whole, with a request, when there is one, equal to the limit.
 */
export const containerResources = fc
  .record(
    {
      requests: fc.dictionary(fc.constantFrom("cpu", "memory", "ephemeral-storage"), quantity, { maxKeys: 3 }),
      limits: fc.dictionary(fc.constantFrom("cpu", "memory"), quantity, { maxKeys: 2 }),
      gpus: fc.record({ count: fc.integer({ min: 0, max: 8 }), requested: fc.boolean() }),
    },
    { requiredKeys: [] },
  )
  .map(({ gpus, ...given }) => {
    const requests: Record<string, string | number> = { ...given.requests }
    const limits: Record<string, string | number> = { ...given.limits }
    for (const [name, limit] of Object.entries(limits)) {
      const request = requests[name]
      if (request !== undefined && (compareQuantities(String(request), String(limit)) ?? 0) > 0) {
        requests[name] = limit
        limits[name] = request
      }
    }
    if (gpus !== undefined) {
      limits["nvidia.com/gpu"] = gpus.count
      if (gpus.requested) requests["nvidia.com/gpu"] = gpus.count
    }
    return {
      ...(given.requests === undefined && gpus?.requested !== true ? {} : { requests }),
      ...(given.limits === undefined && gpus === undefined ? {} : { limits }),
    }
  })

const envVar = fc.oneof(
  fc.record({ name: fc.constantFrom("FOO", "BAR_1", "my.var"), value: fc.string({ maxLength: 20 }) }),
  fc.record({
    name: fc.constantFrom("SECRET_A", "TOKEN"),
    valueFrom: fc.oneof(
      fc.record({ secretKeyRef: fc.record({ name: label(20), key: fc.constantFrom("a", "token") }) }),
      fc.record({ configMapKeyRef: fc.record({ name: label(20), key: fc.constantFrom("b", "conf") }) }),
    ),
  }),
)

const image = fc.constantFrom(
  "prefecthq/prefect:3.9.1-python3.12",
  "prefecthq/prefect:3.8.8-python3.11",
  "registry.example.com/ml/prefect@sha256:0123456789abcdef",
)

const pool = (maxName: number) =>
  fc.record(
    {
      name: label(Math.max(1, Math.min(maxName, 20))),
      image,
      replicas: fc.integer({ min: 0, max: 5 }),
      type: fc.constantFrom("process", "kubernetes"),
      concurrencyLimit: fc.integer({ min: 1, max: 100 }),
      workQueues: fc.array(fc.constantFrom("default", "nightly", "gpu"), { maxLength: 2 }),
      jobNamespace: label(20),
      resources: containerResources,
      env: fc.array(envVar, { maxLength: 2 }),
    },
    { requiredKeys: ["name"] },
  )

/** A valid Workspace document (what a user writes), with a random subset of the optional fields. */
export const workspaceDocument: fc.Arbitrary<WorkspaceEncoded> = label(Names.maxWorkspaceNameLength).chain((name) =>
  fc
    .record(
      {
        image,
        imagePullPolicy: fc.constantFrom("Always", "IfNotPresent", "Never"),
        imagePullSecrets: fc.array(label(20), { maxLength: 2 }),
        controllerReplicas: fc.integer({ min: 0, max: 4 }),
        databaseReplicas: fc.integer({ min: 0, max: 1 }),
        storageQuota: quantity.filter((q) => q !== 0),
        storageClassName: label(20),
        agentPools: fc.uniqueArray(pool(Names.maxPoolNameLength(name)), {
          minLength: 1,
          maxLength: 4,
          selector: (p) => p.name,
        }),
        server: fc.record(
          {
            resources: containerResources,
            uiApiUrl: fc.constantFrom("http://localhost:4200/api", "https://prefect.example.com/api"),
            logLevel: fc.constantFrom("DEBUG", "INFO", "WARNING"),
            env: fc.array(envVar, { maxLength: 2 }),
          },
          { requiredKeys: [] },
        ),
        database: fc.record(
          {
            image: fc.constant("postgres:17.6"),
            resources: containerResources,
            external: fc.record({
              secretRef: fc.record(
                { name: label(20), key: fc.constantFrom("url", "connection-url") },
                { requiredKeys: ["name"] },
              ),
            }),
            deleteVolumeWithWorkspace: fc.boolean(),
          },
          { requiredKeys: [] },
        ),
        redis: fc.record({ image: fc.constant("redis:8.2"), resources: containerResources }, { requiredKeys: [] }),
        networkPolicy: fc.record({ enabled: fc.boolean() }, { requiredKeys: [] }),
        nodeSelector: fc.dictionary(fc.constantFrom("pool", "kubernetes.io/arch"), label(10), { maxKeys: 2 }),
      },
      { requiredKeys: ["agentPools"] },
    )
    .map(
      (workflows) =>
        ({
          apiVersion: "mlops.aigency.com/v1alpha1",
          kind: "Workspace",
          metadata: { name, namespace: "default" },
          spec: { workflows },
        }) as WorkspaceEncoded,
    ),
)
