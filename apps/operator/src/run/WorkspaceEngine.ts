/**
 * The one place the operator meets `@cartographer/reconciler`'s engine: the operator's settings mapped onto
 * `Engine.make` (options not set here keep the engine's stated defaults: resync 10 h, backoff 5 ms → 5 min, field
 * manager `cartographer`).
 */
import { Engine } from "@cartographer/reconciler"
import type { MakeEngine } from "./Operator.js"

/** The engine's default concurrency, which `--concurrency` defaults to. */
export const defaultConcurrency = Engine.defaults.concurrency

export const makeEngine: MakeEngine = (settings) =>
  Engine.make({
    ...(settings.namespaces === undefined ? {} : { namespaces: settings.namespaces }),
    concurrency: settings.concurrency,
    shutdownGrace: settings.shutdownGrace,
    observer: settings.observer,
    identity: settings.identity,
  })
