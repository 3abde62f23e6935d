/**
 * What the commands that talk to a cluster (`diff`, `uninstall`) share: the `--kubeconfig` option, and running their
 * program with a client built from it, a failure printed as `cartographer <command>: <cause>`.
 */
import { type K8sError, KubeClient, type KubeClientShape } from "@cartographer/k8s"
import { Cause, Effect, Layer, Schema } from "effect"
import type { Option } from "./Options.js"

export const kubeconfigOption = (doc = "kubeconfig"): Option<string | undefined> => ({
  flag: "kubeconfig",
  metavar: "file",
  schema: Schema.String,
  default: undefined,
  defaultText: "$KUBECONFIG, in-cluster, ~/.kube/config",
  doc,
})

/** The program's value, or `undefined` when it failed (and was reported through `error`). */
export const runWithClient = async <A>(
  command: string,
  kubeconfig: string | undefined,
  program: (client: KubeClientShape) => Effect.Effect<A, K8sError>,
  error: (text: string) => void,
): Promise<A | undefined> => {
  const clientOptions = { userAgent: `cartographer-${command}` }
  const clientLayer =
    kubeconfig === undefined
      ? KubeClient.layerConfig(clientOptions)
      : KubeClient.layerFromFile(kubeconfig, clientOptions)
  const exit = await Effect.runPromiseExit(
    Effect.gen(function* () {
      const client = yield* KubeClient
      return yield* program(client)
    }).pipe(Effect.provide(Layer.fresh(clientLayer))),
  )
  if (exit._tag === "Success") return exit.value
  error(`cartographer ${command}: ${Cause.pretty(exit.cause)}\n`)
  return undefined
}
