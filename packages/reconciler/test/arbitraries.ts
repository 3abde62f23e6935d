/**
 * fast-check generators of what the planner observes around a Workspace (Workspaces themselves come from
 * `@cartographer/schema/testing`).
 */
import { Names, type Workspace } from "@cartographer/schema"
import { dnsLabel } from "@cartographer/schema/testing"
import fc from "fast-check"
import { it } from "vitest"
import type { Observed } from "../src/index.js"
import { attemptNameHash } from "../src/plan/migrationRetry.js"
import type { JobState, MigrationJobObservation, SecretObservation, WorkloadObservation } from "../src/plan/Observed.js"
import { encodeBase64 } from "../src/plan/secrets.js"

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
 * Attempts at migrations: of `currentHash` (the migration the plan would run) or of another revision, any attempt,
 * named as the planner names them, with or without their times (a hand-built observation has none).
 */
const migrationJob = (ws: Workspace, currentHash: string | undefined): fc.Arbitrary<MigrationJobObservation> => {
  const jobState: fc.Arbitrary<JobState> = fc.constantFrom("running", "succeeded", "failed")
  return fc
    .record(
      {
        hash: fc.oneof(fc.constant(currentHash ?? "00000000"), hex8),
        attempt: fc.integer({ min: 1, max: 6 }),
        state: jobState,
        createdAt: rfc3339,
        failedAt: rfc3339,
        message: fc.constantFrom(
          "BackoffLimitExceeded: boom",
          // The schema guard's refusal (plan/schemaGuard.ts), as the engine reads it: condition, then pod message.
          "PodFailurePolicy: Container migrate failed with exit code 65\n" +
            "cartographer/schema-newer-than-image revision=91e2b8f3d6a4 prefect=3.8.8 head=d4a7e1c93f52",
        ),
      },
      { requiredKeys: ["hash", "attempt", "state", "message"] },
    )
    .map(({ hash, attempt, state, createdAt, failedAt, message }) => ({
      name: Names.migrationJobName(ws.metadata.name, attemptNameHash(hash, attempt)),
      state,
      message,
      hash,
      ...(attempt > 1 ? { attempt } : {}),
      ...(createdAt === undefined ? {} : { createdAt }),
      ...(state === "failed" && failedAt !== undefined ? { failedAt } : {}),
    }))
}

/** The external database's Secret as the engine may find it (none for a Workspace without one). */
const databaseSecret = (ws: Workspace): fc.Arbitrary<ReadonlyArray<SecretObservation>> => {
  const name = ws.spec.workflows.database.external?.secretRef.name
  if (name === undefined) return fc.constant([])
  const namespace = ws.metadata.namespace ?? "default"
  return fc
    .option(
      fc.record(
        { keys: fc.subarray(["connection-url", "url", "password"]), changedAt: rfc3339 },
        { requiredKeys: ["keys"] },
      ),
      { nil: undefined },
    )
    .map((seen) => [{ namespace, name, ...seen }])
}

/**
 * An arbitrary state of the world around `ws`: some children exist, in any state; older revisions may run.
 * `currentHash` (of the migration the plan would run) lets the migration gate's open, failed and retry branches be
 * reached.
 */
export const observedFor = (ws: Workspace, currentHash?: string): fc.Arbitrary<Observed> => {
  const pools = ws.spec.workflows.agentPools.map((p) => p.name)
  return fc.record(
    {
      now: rfc3339,
      generatedPassword: fc.string({ minLength: 1, maxLength: 40 }),
      generatedSecrets: fc.record({
        apiAuthPassword: fc.string({ minLength: 1, maxLength: 40 }),
        redisPassword: fc.string({ minLength: 1, maxLength: 40 }),
      }),
      secret: fc.oneof(
        fc.record({ password: fc.string({ maxLength: 30 }) }).map(({ password }) => ({
          data: { password: encodeBase64(password), username: encodeBase64("postgres") },
        })),
        fc.constant({ data: { orionDatabasePassword: encodeBase64("0d6f1e0c-legacy-guid") } }),
        // Credentials made earlier: basic auth (maybe only part of its keys) and Redis.
        fc.record({ password: fc.string({ maxLength: 30 }), partial: fc.boolean() }).map(({ password, partial }) => ({
          data: {
            password: encodeBase64("db"),
            "api-auth-password": encodeBase64(password),
            ...(partial ? {} : { "auth-string": encodeBase64(`admin:${password}`) }),
            "redis-password": encodeBase64("observed-redis"),
          },
        })),
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
      services: workloadObservation,
      migrationJobs: fc.uniqueArray(migrationJob(ws, currentHash), { selector: (j) => j.name, maxLength: 3 }),
      referencedSecrets: databaseSecret(ws),
      backupJobs: fc.array(
        fc.record({
          name: fc
            .oneof(fc.constant(currentHash ?? "00000000"), hex8)
            .map((hash) => Names.backupJobName(ws.metadata.name, hash)),
          state: fc.constantFrom<JobState>("running", "succeeded", "failed"),
          message: fc.constant("pg_dump: error: connection to server failed"),
        }),
        { maxLength: 2 },
      ),
      pools: fc.uniqueArray(
        fc.record({ name: fc.constantFrom(...pools, "removed-pool"), w: workloadObservation }).map(({ name, w }) => ({
          name,
          ...w,
        })),
        { selector: (p) => p.name, maxLength: pools.length + 1 },
      ),
      rbacNamespaces: fc.array(dnsLabel(12), { maxLength: 2 }),
      podProblems: fc.array(
        fc.oneof(
          fc.record({
            component: fc.constantFrom("server", "database", "redis", "migration"),
            reason: fc.constantFrom("Unschedulable", "FailedMount", "CreateContainerConfigError"),
            message: fc.string({ maxLength: 30 }),
          }),
          fc.record({
            component: fc.constant("agent"),
            pool: fc.constantFrom(...pools, "removed-pool"),
            reason: fc.constantFrom("FailedCreate", "Unschedulable"),
            message: fc.string({ maxLength: 30 }),
          }),
        ),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: ["now", "generatedPassword", "generatedSecrets"] },
  )
}

/** How many generated cases a planner property is checked over, unless it says otherwise. */
export const runs = { numRuns: 200 }

/**
 * A property of the planner, as a test named for what it proves: `holds` must not throw (nor return false) for any
 * values of `arbitraries` fast-check generates (`parameters.numRuns` of them, `runs` by default).
 */
export const property = <Ts extends [unknown, ...Array<unknown>]>(
  name: string,
  arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  // biome-ignore lint/suspicious/noConfusingVoidType: fast-check's own predicate type (a body that returns nothing)
  holds: (...values: Ts) => boolean | void,
  parameters: fc.Parameters<Ts> = runs,
): void => {
  it(name, () => fc.assert(fc.property(...arbitraries, holds), parameters))
}
