// The preamble every Effect test suite against a control plane would otherwise repeat test by test: the suite's
// services built once (a client, a private control plane), each test handed the service it works with, and one time
// limit for the suite's hooks and for each of its tests (`layer`'s own `timeout` bounds only its hooks).
import { layer, type Vitest } from "@effect/vitest"
import { type Context, Duration, Effect, type Layer, type Scope } from "effect"

/** A test body: a generator of effects (as `Effect.gen` takes), handed the suite's service. */
export type SuiteBody<S, R> = (
  service: S,
) => Generator<Effect.Effect<unknown, unknown, R | Scope.Scope>, unknown, never>

/** Registers one test of the suite under its behaviour sentence. */
export interface SuiteTest<S, R> {
  (name: string, body: SuiteBody<S, R>): void
  /** The same test, skipped when `condition` holds (a tier in which what it needs does not run). */
  readonly skipIf: (condition: unknown) => (name: string, body: SuiteBody<S, R>) => void
}

/**
 * A suite of Effect tests sharing `services` (built before its first test, released after its last), each test's
 * body handed `service` from them and bounded by the suite's `timeout`, as its hooks are:
 * `effectSuite(KubeClient, sharedClient)("Watch", "2 minutes", (test) => test("emits …", function* (client) { … }))`.
 */
export const effectSuite =
  <I, S, R, E>(service: Context.Key<I, S>, services: Layer.Layer<I | R, E>) =>
  (title: string, timeout: Duration.Input, tests: (test: SuiteTest<S, I | R>) => void): void =>
    layer(services, { excludeTestServices: true, timeout })(title, (it) => {
      const limit = { timeout: Duration.toMillis(Duration.fromInputUnsafe(timeout)) }
      const register =
        (effectTest: Vitest.Test<I | R | Scope.Scope>) =>
        (name: string, body: SuiteBody<S, I | R>): void =>
          effectTest(name, () => Effect.flatMap(service, (value) => Effect.gen(() => body(value))), limit)
      tests(
        Object.assign(register(it.effect), { skipIf: (condition: unknown) => register(it.effect.skipIf(condition)) }),
      )
    })
