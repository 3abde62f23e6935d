// The Gateway API's HTTPRoute CRD for tests that need a cluster serving HTTPRoutes: read from the Go module cache
// (fetched with `go mod download`, as the control plane's binaries are built from Go modules), never committed.
import { readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type K8sError, Kinds, KubeClient, type KubeObject, type ResourceKind } from "@cartographer/k8s"
import { Effect } from "effect"
import { parse } from "yaml"
import { eventually } from "./poll.js"
import { run } from "./processes.js"

/** The release whose standard-channel CRD the tests install (the newest whose module the project's Go 1.26 reads). */
export const gatewayApiModule = "sigs.k8s.io/gateway-api@v1.6.3"

const httpRouteCrdFile = "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"

// The operator never touches CRDs, so `Kinds` does not list them.
const CustomResourceDefinitions: ResourceKind = {
  group: "apiextensions.k8s.io",
  version: "v1",
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  plural: "customresourcedefinitions",
  namespaced: false,
}

/** The HTTPRoute CRD as the release ships it. */
export const httpRouteCrd = async (): Promise<KubeObject> => {
  // Outside any Go module: the download is of the module itself, not of a dependency.
  const downloaded = await run("go", ["mod", "download", "-json", gatewayApiModule], {
    cwd: tmpdir(),
    timeoutMs: 300_000,
  })
  const answer = JSON.parse(downloaded.stdout || "{}") as { readonly Dir?: string; readonly Error?: string }
  if (downloaded.code !== 0 || answer.Dir === undefined)
    throw new Error(`go mod download ${gatewayApiModule} failed: ${answer.Error ?? downloaded.stderr}`)
  return parse(await readFile(join(answer.Dir, httpRouteCrdFile), "utf8")) as KubeObject
}

/** Installs the HTTPRoute CRD with the given client and waits until the API server serves HTTPRoutes. */
export const installHttpRouteCrd: Effect.Effect<void, K8sError | string, KubeClient> = Effect.gen(function* () {
  const client = yield* KubeClient
  const crd = yield* Effect.promise(httpRouteCrd)
  yield* client.apply(CustomResourceDefinitions, crd, { fieldManager: "cartographer-test-harness", force: true })
  yield* eventually(client.list(Kinds.HTTPRoute, { namespace: "default" }), "60 seconds")
})
