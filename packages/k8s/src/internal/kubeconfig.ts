/**
 * Loading a client-node `KubeConfig`: from files, from the in-cluster service account, or from the environment in
 * controller-runtime's order (`KUBECONFIG`, in-cluster, `$HOME/.kube/config`). Unlike client-node's
 * `loadFromDefault`, nothing silently falls back to `http://localhost:8080`.
 */
import { existsSync } from "node:fs"
import { homedir } from "node:os"
import { delimiter, join } from "node:path"
import { KubeConfig } from "@kubernetes/client-node"
import { Config, Effect, Option, Schema } from "effect"

/** The kubeconfig could not be loaded (missing file, bad YAML, no current cluster, not in a cluster). */
export class KubeConfigError extends Schema.TaggedError<KubeConfigError>("@cartographer/k8s/KubeConfigError")(
  "KubeConfigError",
  { message: Schema.String, cause: Schema.optionalKey(Schema.Defect()) },
) {}

const serviceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"

const checked = (kubeConfig: KubeConfig, source: string): Effect.Effect<KubeConfig, KubeConfigError> =>
  kubeConfig.getCurrentCluster() === null
    ? Effect.fail(new KubeConfigError({ message: `${source}: no current context or cluster` }))
    : Effect.succeed(kubeConfig)

/** Loads and merges kubeconfig files, the first one deciding the current context (kubectl's rule). */
export const fromFiles = (paths: ReadonlyArray<string>): Effect.Effect<KubeConfig, KubeConfigError> =>
  Effect.try({
    try: () => {
      const kubeConfig = new KubeConfig()
      paths.forEach((path, index) => {
        if (index === 0) {
          kubeConfig.loadFromFile(path)
        } else {
          const other = new KubeConfig()
          other.loadFromFile(path)
          kubeConfig.mergeConfig(other, true)
        }
      })
      return kubeConfig
    },
    catch: (cause) => new KubeConfigError({ message: `cannot load kubeconfig ${paths.join(delimiter)}`, cause }),
  }).pipe(Effect.flatMap((kubeConfig) => checked(kubeConfig, paths.join(delimiter))))

/** The pod's service account (token re-read by client-node as it rotates). */
export const inCluster: Effect.Effect<KubeConfig, KubeConfigError | Config.ConfigError> = Effect.gen(function* () {
  const host = yield* Config.option(Config.String("KUBERNETES_SERVICE_HOST"))
  if (Option.isNone(host) || !existsSync(serviceAccountToken)) {
    return yield* new KubeConfigError({
      message: `not running in a cluster (KUBERNETES_SERVICE_HOST unset or ${serviceAccountToken} missing)`,
    })
  }
  const kubeConfig = yield* Effect.try({
    try: () => {
      const kubeConfig = new KubeConfig()
      kubeConfig.loadFromCluster()
      return kubeConfig
    },
    catch: (cause) => new KubeConfigError({ message: "cannot load the in-cluster configuration", cause }),
  })
  return yield* checked(kubeConfig, "in-cluster")
})

/** `KUBECONFIG` (a path list), else in-cluster, else `$HOME/.kube/config`. */
export const fromEnvironment: Effect.Effect<KubeConfig, KubeConfigError | Config.ConfigError> = Effect.gen(
  function* () {
    const paths = yield* Config.option(Config.String("KUBECONFIG"))
    const list = Option.getOrElse(paths, () => "")
      .split(delimiter)
      .filter((path) => path.length > 0)
    if (list.length > 0) return yield* fromFiles(list)
    const host = yield* Config.option(Config.String("KUBERNETES_SERVICE_HOST"))
    if (Option.isSome(host)) return yield* inCluster
    const home = join(homedir(), ".kube", "config")
    if (existsSync(home)) return yield* fromFiles([home])
    return yield* new KubeConfigError({
      message: "no kubeconfig: set KUBECONFIG, run in a cluster, or create ~/.kube/config",
    })
  },
)
