// The operator's identity for tests: a ServiceAccount bound to the ClusterRole the operator ships with
// (install/rbac/operator-cluster-role.yaml, applied as it is), so that code under test runs with exactly the shipped
// RBAC and a missing verb fails the test instead of passing as admin.
import { randomBytes } from "node:crypto"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { type K8sError, Kinds, KubeClient, type ResourceKind } from "@cartographer/k8s"
import type { KubeConfig } from "@kubernetes/client-node"
import { Effect, type Layer, Schedule } from "effect"
import { parse } from "yaml"
import type { ServiceAccountClient, ServiceAccountRef } from "./serviceAccounts.js"
import { sharedControlPlane } from "./testing.js"

export const operatorClusterRolePath = fileURLToPath(
  new URL("../../install/rbac/operator-cluster-role.yaml", import.meta.url),
)

const operatorDeploymentPath = fileURLToPath(new URL("../../install/manager/deployment.yaml", import.meta.url))

/**
 * The literal environment the shipped Deployment runs the operator with (install/manager/deployment.yaml: Node's and
 * glibc's memory settings; not the downward-API variables, which a test sets itself), so that tests and benchmarks
 * that start the operator as a process measure the runtime users get.
 */
export const operatorRuntimeEnv = async (): Promise<Readonly<Record<string, string>>> => {
  const operator = await operatorContainer()
  return Object.fromEntries(
    (operator?.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value] as const])),
  )
}

/** The arguments the shipped Deployment gives the operator's image (`run --leader-elect …`). */
export const operatorRuntimeArgs = async (): Promise<ReadonlyArray<string>> => (await operatorContainer())?.args ?? []

const operatorContainer = async () => {
  const deployment = parse(await readFile(operatorDeploymentPath, "utf8")) as {
    spec: {
      template: {
        spec: {
          containers: Array<{
            name: string
            args?: Array<string>
            env?: Array<{ name: string; value?: string }>
          }>
        }
      }
    }
  }
  return deployment.spec.template.spec.containers.find((c) => c.name === "operator")
}

// Kinds the operator never touches, so `Kinds` does not list them.
const rbac = { group: "rbac.authorization.k8s.io", version: "v1", apiVersion: "rbac.authorization.k8s.io/v1" }
const ClusterRoles: ResourceKind = { ...rbac, kind: "ClusterRole", plural: "clusterroles", namespaced: false }
const ClusterRoleBindings: ResourceKind = {
  ...rbac,
  kind: "ClusterRoleBinding",
  plural: "clusterrolebindings",
  namespaced: false,
}

/** A control plane to create the identity in: the shared one by default, or a private one (`startControlPlane`). */
export interface IdentityAccess {
  /** Admin client configuration. */
  readonly kubeConfig: KubeConfig
  clientFor(serviceAccount: ServiceAccountRef): Promise<ServiceAccountClient>
}

export interface OperatorIdentity {
  readonly namespace: string
  readonly serviceAccount: string
  /** The username the API server (and its audit log) knows it by: `system:serviceaccount:<ns>:<name>`. */
  readonly user: string
  readonly kubeConfig: KubeConfig
  readonly kubeconfigPath: string
  /** A `KubeClient` that acts as the operator. */
  readonly layer: Layer.Layer<KubeClient, K8sError>
  /** Deletes the ClusterRoleBinding (the ServiceAccount goes with its namespace). */
  remove(): Promise<void>
}

export interface OperatorIdentityOptions {
  /** ServiceAccount name. Default `cartographer`. */
  readonly name?: string
  /** Default: the run's shared control plane. */
  readonly access?: IdentityAccess
}

/**
 * Creates ServiceAccount `<name>` in `namespace` (which must exist), applies the shipped ClusterRole
 * `cartographer-operator` unchanged, binds it to the ServiceAccount with a ClusterRoleBinding whose name is unique to
 * this call, and waits until the API server's authorizer honours the binding.
 */
export const operatorIdentity = async (
  namespace: string,
  options: OperatorIdentityOptions = {},
): Promise<OperatorIdentity> => {
  const access = options.access ?? sharedControlPlane()
  const name = options.name ?? "cartographer"
  const sa = await access.clientFor({ namespace, name })
  const role = parse(await readFile(operatorClusterRolePath, "utf8")) as { metadata: { name: string } }
  const bindingName = `${role.metadata.name}-test-${namespace}-${name}-${randomBytes(3).toString("hex")}`.slice(0, 253)
  const admin = KubeClient.layer(access.kubeConfig)
  const operator = KubeClient.layer(sa.kubeConfig, { userAgent: "cartographer-test-operator" })

  await Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* KubeClient
      yield* client.apply(ClusterRoles, role, { fieldManager: "cartographer-test-harness" })
      yield* client.apply(
        ClusterRoleBindings,
        {
          metadata: { name: bindingName, labels: { "cartographer.test/operator-identity": "true" } },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
          subjects: [{ kind: "ServiceAccount", name, namespace }],
        },
        { fieldManager: "cartographer-test-harness" },
      )
    }).pipe(Effect.provide(admin)),
  )
  // The authorizer reads bindings from an informer: wait until the new one is in effect.
  await Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* KubeClient
      yield* client.list(Kinds.Workspace, { namespace, pageSize: 1 })
    }).pipe(
      Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo({ duration: "20 seconds" }))),
      Effect.provide(operator),
    ),
  )

  return {
    namespace,
    serviceAccount: name,
    user: `system:serviceaccount:${namespace}:${name}`,
    kubeConfig: sa.kubeConfig,
    kubeconfigPath: sa.kubeconfigPath,
    layer: operator,
    remove: () =>
      Effect.runPromise(
        Effect.gen(function* () {
          const client = yield* KubeClient
          yield* client.delete(ClusterRoleBindings, { name: bindingName }).pipe(Effect.ignore)
        }).pipe(Effect.provide(admin)),
      ),
  }
}
