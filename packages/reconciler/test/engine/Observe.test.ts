import type { KubeObject, Live } from "@cartographer/k8s"
import { describe, expect, it } from "vitest"
import {
  type Children,
  jobStateOf,
  lastTerminationMessage,
  observedOf,
  workspaceKeyOf,
} from "../../src/engine/Observe.js"
import { convergedPlan, type ManagedObject } from "../../src/index.js"
import { plan } from "../../src/plan/planner.js"
import { inputs, ws } from "../fixtures.js"

let rv = 0
/** A planned object as the API server would return it once its workload is ready. */
const live = (object: ManagedObject): Live<KubeObject> => {
  const base = {
    ...object,
    metadata: { ...object.metadata, uid: `uid-${object.metadata.name}`, resourceVersion: String(++rv), generation: 1 },
  } as unknown as Live<KubeObject>
  if (object.kind === "Deployment" || object.kind === "StatefulSet") {
    const replicas = object.spec.replicas
    return {
      ...base,
      status: {
        observedGeneration: 1,
        replicas,
        readyReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
      },
    }
  }
  if (object.kind === "Job") {
    return { ...base, status: { conditions: [{ type: "Complete", status: "True" }], succeeded: 1 } }
  }
  return base
}

const childrenOf = (objects: ReadonlyArray<Live<KubeObject>>): Children => {
  const named = (kind: string, suffix: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix))
  return {
    secret: named("Secret", "-environment-secrets"),
    database: named("StatefulSet", "-orion-database"),
    server: named("Deployment", "-orion-server"),
    redis: named("Deployment", "-orion-redis"),
    services: named("Deployment", "-orion-services"),
    deployments: objects.filter((o) => o.kind === "Deployment"),
    jobs: objects.filter((o) => o.kind === "Job"),
    roles: objects.filter((o) => o.kind === "Role"),
  }
}

describe("the engine's observation of live children", () => {
  it.each([
    ["one process pool", {}],
    [
      "a kubernetes pool in another namespace",
      { agentPools: [{ name: "k", type: "kubernetes", jobNamespace: "jobs" }] },
    ],
    ["a high-availability server", { controllerReplicas: 3, agentPools: [{ name: "a" }, { name: "b", replicas: 2 }] }],
  ])("plans a converged Workspace (%s) back to exactly the same objects (no change, no write)", (_, workflows) => {
    const workspace = ws(workflows)
    const converged = convergedPlan(workspace, inputs)
    const observed = observedOf({
      now: inputs.now,
      generatedPassword: "never used: the Secret exists",
      generatedSecrets: { apiAuthPassword: "never used", redisPassword: "never used" },
      previousStatus: converged.status,
      children: childrenOf(converged.apply.map(live)),
    })
    const again = plan(workspace, observed)
    expect(again.apply).toEqual(converged.apply)
    expect(again.status).toEqual(converged.status)
  })

  it("reads a failed Job's reason and message, and the pod's termination message when it has one", () => {
    const job = {
      metadata: { name: "j" },
      status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "too many" }] },
    }
    expect(jobStateOf(job)).toEqual({ state: "failed", message: "BackoffLimitExceeded: too many" })
    expect(jobStateOf({ status: { conditions: [{ type: "Complete", status: "True" }] } })).toEqual({
      state: "succeeded",
    })
    expect(jobStateOf({ status: { conditions: [{ type: "Failed", status: "False" }] } })).toEqual({ state: "running" })
    expect(jobStateOf({})).toEqual({ state: "running" })
  })

  it("knows each migration attempt by its hash label and attempt annotation, with when it was created and failed", () => {
    const failed = {
      ...live(convergedPlan(ws(), inputs).apply.find((o) => o.kind === "Job") as ManagedObject),
      status: {
        conditions: [
          {
            type: "Failed",
            status: "True",
            reason: "BackoffLimitExceeded",
            message: "too many",
            lastTransitionTime: "2025-06-01T12:03:00Z",
          },
        ],
      },
    } as Live<KubeObject>
    const attempt = {
      ...failed,
      metadata: {
        ...failed.metadata,
        name: "second",
        creationTimestamp: "2025-06-01T12:00:00Z",
        annotations: { "mlops.aigency.com/migration-attempt": "2" },
      },
    }
    const observed = observedOf({
      now: inputs.now,
      generatedPassword: "",
      generatedSecrets: { apiAuthPassword: "", redisPassword: "" },
      previousStatus: undefined,
      children: { ...childrenOf([failed, attempt]), jobMessages: new Map([["second", "password refused"]]) },
    })
    const hash = failed.metadata.labels?.["mlops.aigency.com/migration-hash"]
    expect(hash).toMatch(/^[0-9a-f]{8}$/u)
    expect(observed.migrationJobs?.find((j) => j.name === "second")).toEqual({
      name: "second",
      state: "failed",
      message: "BackoffLimitExceeded: too many\npassword refused",
      hash,
      attempt: 2,
      createdAt: "2025-06-01T12:00:00Z",
      failedAt: "2025-06-01T12:03:00Z",
    })
    expect(observed.migrationJobs?.find((j) => j.name !== "second")?.attempt).toBeUndefined()
  })

  it("quotes the termination message of the container that terminated last, whatever order the pods are listed in", () => {
    const pod = (finishedAt: string, message: string) => ({
      status: { containerStatuses: [{ state: { terminated: { exitCode: 1, finishedAt, message } } }] },
    })
    const pods = [
      pod("2025-06-01T12:00:40Z", "attempt 3"),
      pod("2025-06-01T12:01:30Z", "attempt 4: password authentication failed\n"),
      pod("2025-06-01T12:00:10Z", "attempt 1"),
      { status: { containerStatuses: [{ state: { running: {} } }] } },
    ]
    expect(lastTerminationMessage(pods)).toBe("attempt 4: password authentication failed")
    expect(lastTerminationMessage([])).toBeUndefined()
  })
})

describe("the Workspace a child belongs to", () => {
  const meta = (extra: Record<string, unknown>) =>
    ({ metadata: { name: "x", namespace: "ns", uid: "u", resourceVersion: "1", ...extra } }) as Live<KubeObject>

  it("is its controller Workspace", () => {
    const owner = {
      apiVersion: "mlops.aigency.com/v1alpha1",
      kind: "Workspace",
      name: "ws",
      uid: "1",
      controller: true,
    }
    expect(workspaceKeyOf(meta({ ownerReferences: [owner] }))).toBe("ns/ws")
  })

  it("else comes from its labels, across namespaces for pool RBAC", () => {
    expect(workspaceKeyOf(meta({ labels: { "mlops.aigency.com/environment": "ws" } }))).toBe("ns/ws")
    expect(
      workspaceKeyOf(
        meta({
          labels: { "mlops.aigency.com/environment": "ws", "mlops.aigency.com/workspace-namespace": "home" },
        }),
      ),
    ).toBe("home/ws")
  })

  it("is nobody for an object without our owner or labels", () => {
    const owner = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "1", controller: true }
    expect(workspaceKeyOf(meta({ ownerReferences: [owner] }))).toBeUndefined()
  })
})
