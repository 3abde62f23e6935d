// Exposing the server, against the real API server and as the shipped ClusterRole allows: the Ingress (which the
// API server validates), the server's PodDisruptionBudget, and the Gateway API HTTPRoute both where its CRD is
// missing (the engine still syncs and runs; the Workspace is Degraded saying so) and once it is installed (from the
// Gateway API's Go module, as the test control plane is built). The Gateway API part runs on a PRIVATE control plane:
// the shared one may already serve HTTPRoutes for other suites.
import { Kinds, KubeClient, type KubeObject } from "@cartographer/k8s"
import { effectSuite, eventually, installHttpRouteCrd } from "@cartographer/test/harness"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import {
  condition,
  engineSuite,
  gone,
  PrivateCluster,
  privateCluster,
  sample,
  startEngine,
  withWorkflows,
} from "./support.js"

const suite = engineSuite("engine-exposure")
const { namespace } = suite

/** samples/basic-workspace.yaml renamed, in `at`, with these server settings and replicas. */
const exposed = (name: string, server: Record<string, unknown>, controllerReplicas = 1, at = namespace): KubeObject =>
  withWorkflows(sample("basic-workspace.yaml", at, name), { controllerReplicas, server })

const serverEnv = (deployment: KubeObject) =>
  Object.fromEntries(
    (
      (
        deployment.spec as {
          template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } }
        }
      ).template.spec.containers[0]?.env ?? []
    ).map((e) => [e.name, e.value]),
  )

suite.tests("exposure", "300 seconds", (test) => {
  test("applies the Ingress and, with two replicas, the disruption budget the API server accepts; prunes both when the spec drops them", function* (admin) {
    yield* suite.startEngine()
    const ingress = {
      className: "nginx",
      host: "prefect.example.com",
      tlsSecretName: "prefect-tls",
      annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
    }
    yield* suite.apply(exposed("ingress", { ingress }, 2))
    const ref = { namespace, name: "ingress-orion-server" }
    const applied = yield* eventually(admin.get(Kinds.Ingress, ref))
    assert.deepStrictEqual((applied.spec as { tls?: unknown }).tls, [
      { hosts: ["prefect.example.com"], secretName: "prefect-tls" },
    ])
    assert.strictEqual(applied.metadata.annotations?.["cert-manager.io/cluster-issuer"], "letsencrypt")
    const budget = yield* eventually(admin.get(Kinds.PodDisruptionBudget, ref))
    assert.strictEqual((budget.spec as { maxUnavailable?: number }).maxUnavailable, 1)
    // The UI calls the API where the Ingress serves it.
    const server = yield* eventually(admin.get(Kinds.Deployment, ref))
    assert.strictEqual(serverEnv(server).PREFECT_UI_API_URL, "https://prefect.example.com/api")

    yield* suite.apply(exposed("ingress", {}, 1))
    yield* gone(admin.get(Kinds.Ingress, ref))
    yield* gone(admin.get(Kinds.PodDisruptionBudget, ref))
    const after = yield* eventually(
      admin
        .get(Kinds.Deployment, ref)
        .pipe(Effect.filterOrFail((d) => serverEnv(d).PREFECT_UI_API_URL === "http://localhost:4200/api")),
    )
    assert.isDefined(after)
  })
})

const privateNamespace = "exposure"
const environment = privateCluster(privateNamespace)

/** The Workspace once its Degraded condition has this status. */
const waitForDegraded = (ref: { readonly namespace: string; readonly name: string }, status: "True" | "False") =>
  eventually(
    Effect.gen(function* () {
      const workspace = yield* (yield* KubeClient).get(Kinds.Workspace, ref)
      const found = condition(workspace, "Degraded")
      if (found?.status !== status) return yield* Effect.fail(`Degraded is ${found?.status}: ${found?.message}`)
      return workspace
    }),
    "90 seconds",
  )

effectSuite(KubeClient, environment)("the Gateway API", "300 seconds", (test) => {
  test("missing, the HTTPRoute is reported as Degraded saying so and the rest applied; installed, the route is applied", function* (admin) {
    const { identity } = yield* PrivateCluster
    // The engine syncs although the kind is not served, and looks again at a refused route soon.
    yield* startEngine(identity, { rejectedRecheck: "3 seconds" })
    const httpRoute = {
      parentRefs: [{ name: "shared-gateway", namespace: "gateways", sectionName: "https" }],
      hostnames: ["prefect.example.com"],
    }
    yield* admin.apply(Kinds.Workspace, exposed("routed", { httpRoute }, 1, privateNamespace), {
      fieldManager: "engine-test",
    })
    const routed = { namespace: privateNamespace, name: "routed" }
    const degraded = yield* waitForDegraded(routed, "True")
    assert.strictEqual(condition(degraded, "Degraded")?.reason, "ApplyRejected")
    assert.include(condition(degraded, "Degraded")?.message, "the Gateway API is not installed in this cluster")
    assert.include(condition(degraded, "Degraded")?.message, "spec.workflows.server.httpRoute")
    const ref = { namespace: privateNamespace, name: "routed-orion-server" }
    const server = yield* admin.get(Kinds.Deployment, ref)
    assert.strictEqual(serverEnv(server).PREFECT_UI_API_URL, "https://prefect.example.com/api")

    // An administrator installs the Gateway API; the Workspace does not change.
    yield* installHttpRouteCrd
    const route = yield* eventually(admin.get(Kinds.HTTPRoute, ref), "90 seconds")
    const spec = route.spec as {
      parentRefs: Array<Record<string, unknown>>
      rules: Array<{ backendRefs: Array<Record<string, unknown>> }>
    }
    // Accepted by the CRD's own validation, with its defaults filled in.
    assert.strictEqual(spec.parentRefs[0]?.name, "shared-gateway")
    assert.strictEqual(spec.parentRefs[0]?.kind, "Gateway")
    assert.deepInclude(spec.rules[0]?.backendRefs[0] ?? {}, { name: "routed-orion-server", port: 4200 })
    yield* waitForDegraded(routed, "False")
  })
})
