/**
 * `@cartographer/schema/testing`: fast-check generators of Workspaces for the tests and benchmarks of every package
 * (the Schema's properties, the planner's, the fuzz suite), so that no package reaches into another's test folder.
 * Test support only: not built into `dist`, and `fast-check` is the caller's dependency.
 *
 * Documents are written as users write them (the Schema's encoded form) and cover every optional field, including
 * values the planner must treat carefully (env names Cartographer reserves, duplicates, YAML 1.1 booleans).
 */
import fc from "fast-check"
import { maxPoolNameLength, maxWorkspaceNameLength } from "../src/nameRules.js"
import { compareQuantities } from "../src/Quantity.js"
import { validateWorkspace } from "../src/validate.js"
import type { Workspace, WorkspaceEncoded } from "../src/Workspace.js"
import { disruptionBudget, jobTemplate, mounts, placement, serviceAccount } from "./pods.js"

/** The limits the generated names respect, for tests that check derived names against them. */
export { maxStatefulSetNameLength, maxWorkspaceNameLength } from "../src/nameRules.js"
export { badPodFields, goodPodFields } from "./podFieldCases.js"
export type { WorkspaceEncoded }

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

/** Positive Kubernetes quantities, with and without a unit, and plain integers (which the Schema turns into text). */
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

/** User env, including names Cartographer reserves and duplicates, which the planner must drop deterministically. */
const envVar = fc.oneof(
  fc.record({
    name: fc.constantFrom(
      "FOO",
      "BAR_1",
      "my.var",
      "PREFECT_API_URL",
      "PREFECT_UI_API_URL",
      "PREFECT_API_AUTH_STRING",
      "PREFECT_SERVER_API_AUTH_STRING",
      "PREFECT_REDIS_MESSAGING_URL",
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

const hostname = fc.constantFrom("prefect.example.com", "a.b.example", "localhost", "ml-team.internal")
const httpPath = fc.constantFrom("/", "/prefect", "/team/prefect")

/**
 * How the server is exposed, with the cross-field rules kept (a TLS Secret only with a host, one path for both
 * routes), as users write it.
 */
const exposure = fc
  .record(
    {
      ingress: fc.record(
        {
          className: fc.constantFrom("nginx", "traefik"),
          host: hostname,
          tlsSecretName: dnsLabel(20),
          annotations: fc.dictionary(fc.constantFrom("cert-manager.io/cluster-issuer", "b.example/x"), dnsLabel(8), {
            maxKeys: 2,
          }),
        },
        { requiredKeys: [] },
      ),
      httpRoute: fc.record(
        {
          parentRefs: fc.array(
            fc.record(
              {
                name: dnsLabel(20),
                namespace: dnsLabel(20),
                sectionName: fc.constantFrom("http", "https"),
                port: fc.constantFrom(80, 443),
              },
              { requiredKeys: ["name"] },
            ),
            { minLength: 1, maxLength: 2 },
          ),
          hostnames: fc.array(hostname, { maxLength: 2 }),
          https: fc.boolean(),
          annotations: fc.dictionary(fc.constantFrom("a.example/y"), dnsLabel(8), { maxKeys: 1 }),
        },
        { requiredKeys: ["parentRefs"] },
      ),
      path: httpPath,
    },
    { requiredKeys: [] },
  )
  .map(({ ingress, httpRoute, path }) => {
    const fixedIngress =
      ingress === undefined
        ? undefined
        : {
            ...(ingress.host === undefined ? (({ tlsSecretName: _, ...rest }) => rest)(ingress) : ingress),
            ...(path === undefined ? {} : { path }),
          }
    return {
      ...(fixedIngress === undefined ? {} : { ingress: fixedIngress }),
      ...(httpRoute === undefined ? {} : { httpRoute: { ...httpRoute, ...(path === undefined ? {} : { path }) } }),
    }
  })

/** External Redis settings, with distinct databases. */
const externalRedis = fc
  .record(
    {
      host: fc.constantFrom("redis.example.com", "10.0.0.7"),
      port: fc.constantFrom(6379, 6380),
      db: fc.integer({ min: 0, max: 3 }),
      username: fc.constantFrom("default", "prefect"),
      passwordSecretRef: fc.record(
        { name: dnsLabel(20), key: fc.constantFrom("password", "redis-password") },
        {
          requiredKeys: ["name"],
        },
      ),
      tls: fc.boolean(),
    },
    { requiredKeys: ["host"] },
  )
  .map((redis) => ({ ...redis, docketDb: (redis.db ?? 0) + 1 }))

/** A worker pool as users write it, its name at most `maxName` characters. */
export const poolDocument = (maxName: number) =>
  fc
    .record(
      {
        pool: fc.record(
          {
            name: dnsLabel(Math.max(1, Math.min(maxName, 24))),
            image,
            replicas: fc.integer({ min: 0, max: 5 }),
            type: fc.constantFrom("process", "kubernetes"),
            autoscaled: fc.boolean(),
            concurrencyLimit: fc.integer({ min: 1, max: 100 }),
            workQueues: fc.array(fc.constantFrom("default", "nightly", "gpu", "no"), { maxLength: 3 }),
            jobNamespace: fc.oneof(dnsLabel(20), fc.constant("default")),
            resources: containerResources,
            env: fc.array(envVar, { maxLength: 3 }),
            serviceAccount,
            podDisruptionBudget: disruptionBudget,
            jobTemplate: jobTemplate(containerResources, fc.array(envVar, { maxLength: 3 })),
          },
          { requiredKeys: ["name"] },
        ),
        placement: fc.option(placement, { nil: undefined }),
        mounts: fc.option(mounts, { nil: undefined }),
      },
      { requiredKeys: ["pool"] },
    )
    .map(({ pool: { jobTemplate: job, ...pool }, placement, mounts }) => ({
      ...pool,
      ...placement,
      ...mounts,
      // Only a kubernetes pool runs flow-run Jobs.
      ...(job === undefined || pool.type !== "kubernetes" ? {} : { jobTemplate: job }),
    }))

/** `component` with placement fields, half of the time. */
const placedMaybe = <A extends object>(component: A) =>
  fc.option(placement, { nil: undefined }).map((placed) => ({ ...component, ...placed }))

/** A valid Workspace document as a user writes it, with a random subset of the optional fields. */
export const workspaceDocument = (options: { readonly maxNameLength?: number } = {}): fc.Arbitrary<WorkspaceEncoded> =>
  dnsLabel(options.maxNameLength ?? maxWorkspaceNameLength).chain((name) =>
    fc
      .record(
        {
          namespace: fc.oneof(fc.constant("default"), dnsLabel(30)),
          uid: fc.uuid(),
          generation: fc.integer({ min: 1, max: 1000 }),
          workflows: fc
            .record(
              {
                image,
                imagePullPolicy: fc.constantFrom("Always", "IfNotPresent", "Never"),
                imagePullSecrets: fc.array(dnsLabel(20), { maxLength: 2 }),
                controllerReplicas: fc.integer({ min: 0, max: 4 }),
                databaseReplicas: fc.integer({ min: 0, max: 1 }),
                storageQuota: quantity,
                storageClassName: dnsLabel(20),
                agentPools: fc.uniqueArray(poolDocument(maxPoolNameLength(name)), {
                  minLength: 1,
                  maxLength: 4,
                  selector: (p) => p.name,
                }),
                server: fc
                  .tuple(
                    fc
                      .record(
                        {
                          resources: containerResources,
                          servicesResources: containerResources,
                          uiApiUrl: fc.constantFrom("http://localhost:4200/api", "https://prefect.example.com/api"),
                          logLevel: fc.constantFrom("DEBUG", "INFO", "WARNING"),
                          env: fc.array(envVar, { maxLength: 3 }),
                          exposure,
                          basicAuth: fc.oneof(
                            fc.record({ enabled: fc.boolean() }, { requiredKeys: [] }),
                            fc.record({
                              enabled: fc.constant(true),
                              secretRef: fc.record(
                                { name: dnsLabel(20), key: fc.constantFrom("auth-string", "creds") },
                                { requiredKeys: ["name"] },
                              ),
                            }),
                          ),
                          metrics: fc.record({ enabled: fc.boolean() }, { requiredKeys: [] }),
                          databaseLossRestartSeconds: fc.integer({ min: 30, max: 3600 }),
                        },
                        { requiredKeys: [] },
                      )
                      .map(({ exposure: routes, ...server }) => ({ ...server, ...routes })),
                    fc.option(placement, { nil: undefined }),
                    fc.option(mounts, { nil: undefined }),
                  )
                  .map(([server, placed, mounted]) => ({ ...server, ...placed, ...mounted })),
                database: fc
                  .record(
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
                      retention: fc.record(
                        {
                          enabled: fc.boolean(),
                          flowRunDays: fc.integer({ min: 1, max: 400 }),
                          eventDays: fc.integer({ min: 1, max: 60 }),
                        },
                        { requiredKeys: [] },
                      ),
                      backup: fc.record(
                        {
                          beforeMigration: fc.boolean(),
                          keep: fc.integer({ min: 1, max: 1000 }),
                          schedule: fc.constantFrom("0 3 * * *", "@hourly", "*/30 1-5 * * 1-5"),
                        },
                        { requiredKeys: [] },
                      ),
                      restoreFrom: fc.record({
                        claimName: dnsLabel(30),
                        file: fc.constant("20261207T030000Z-prefect-3.8.8-python3.12-d4a7e1c93f52.dump"),
                      }),
                    },
                    { requiredKeys: [] },
                  )
                  // A schedule and a restore are only for the in-cluster database.
                  .map(({ backup, restoreFrom, ...database }) => {
                    if (database.external !== undefined) {
                      if (backup === undefined) return database
                      const { schedule, ...always } = backup
                      return { ...database, backup: always }
                    }
                    return {
                      ...database,
                      ...(backup === undefined ? {} : { backup }),
                      ...(restoreFrom === undefined ? {} : { restoreFrom }),
                    }
                  })
                  .chain((database) => placedMaybe(database)),
                redis: fc
                  .oneof(
                    fc.record({ image: fc.constant("redis:8.2"), resources: containerResources }, { requiredKeys: [] }),
                    fc.record({ external: externalRedis }),
                  )
                  .chain((redis) => placedMaybe(redis)),
                migration: placement,
                networkPolicy: fc.record({ enabled: fc.boolean() }, { requiredKeys: [] }),
                nodeSelector: fc.dictionary(fc.constantFrom("pool", "kubernetes.io/arch"), dnsLabel(10), {
                  maxKeys: 2,
                }),
              },
              { requiredKeys: ["agentPools"] },
            )
            .chain((workflows) =>
              fc
                .option(placement, { nil: undefined, freq: 3 })
                .map((placed) => ({ ...workflows, ...(placed === undefined ? {} : placed) })),
            ),
        },
        { requiredKeys: ["workflows"] },
      )
      .map(
        ({ namespace, uid, generation, workflows }): WorkspaceEncoded => ({
          apiVersion: "mlops.aigency.com/v1alpha1",
          kind: "Workspace",
          metadata: {
            name,
            ...(namespace === undefined ? {} : { namespace }),
            ...(uid === undefined ? {} : { uid }),
            ...(generation === undefined ? {} : { generation }),
          },
          spec: { workflows },
        }),
      ),
  )

/** Decodes a generated document; a generator that produces something the Schema rejects is a bug here, not a skip. */
export const decode = (document: unknown): Workspace => {
  const result = validateWorkspace(document)
  if (!result.ok) throw new Error(`generated an invalid Workspace: ${JSON.stringify(result.issues)}`)
  return result.value
}

/** Valid Workspaces, decoded through the Schema (defaults applied): what the operator could really receive. */
export const workspace = (options: { readonly maxNameLength?: number } = {}): fc.Arbitrary<Workspace> =>
  workspaceDocument(options).map(decode)
