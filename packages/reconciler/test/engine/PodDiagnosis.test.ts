import type { KubeObject, Live } from "@cartographer/k8s"
import { describe, expect, it } from "vitest"
import { needsDiagnosis, podProblemsOf } from "../../src/engine/PodDiagnosis.js"

let uid = 0
const object = (fields: Record<string, unknown>): Live<KubeObject> =>
  ({ ...fields, metadata: { uid: `u${++uid}`, resourceVersion: "1", ...(fields.metadata as object) } }) as never

const pod = (name: string, labels: Record<string, string>, status: Record<string, unknown>) =>
  object({ kind: "Pod", metadata: { name, labels }, status })
/** The FailedMount Event `name` about pod `podName`. */
const mountFailure = (name: string, podName: string, message: string) =>
  object({
    kind: "Event",
    metadata: { name },
    involvedObject: { kind: "Pod", name: podName },
    reason: "FailedMount",
    message,
  })
const gpu = { "mlops.aigency.com/component": "agent", "mlops.aigency.com/pool": "gpu" }
const server = { "mlops.aigency.com/component": "server" }

describe("why a Workspace's pods do not run", () => {
  it("reads a pod no node fits, a container that cannot be configured, a volume that cannot be mounted, and a refused creation", () => {
    const problems = podProblemsOf({
      deployments: [
        object({
          kind: "Deployment",
          metadata: {
            name: "ws-agent-etl",
            labels: { "mlops.aigency.com/component": "agent", "mlops.aigency.com/pool": "etl" },
          },
          status: {
            conditions: [
              {
                type: "ReplicaFailure",
                status: "True",
                reason: "FailedCreate",
                message: 'serviceaccount "team" not found',
              },
            ],
          },
        }),
      ],
      pods: [
        pod("ws-agent-gpu-1", gpu, {
          conditions: [
            {
              type: "PodScheduled",
              status: "False",
              reason: "Unschedulable",
              message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
            },
          ],
        }),
        pod("ws-orion-server-1", server, {
          containerStatuses: [
            {
              name: "orion-server",
              state: { waiting: { reason: "CreateContainerConfigError", message: 'secret "db-tls" not found' } },
            },
          ],
        }),
        pod("ws-orion-server-2", server, {
          containerStatuses: [{ name: "orion-server", state: { waiting: { reason: "ContainerCreating" } } }],
        }),
        pod("ws-orion-server-3", server, {
          phase: "Running",
          containerStatuses: [{ name: "orion-server", state: { running: {} } }],
        }),
      ],
      mountEvents: [
        mountFailure(
          "e1",
          "ws-orion-server-2",
          'MountVolume.SetUp failed for volume "certs" : secret "db-ca" not found',
        ),
        mountFailure("e2", "someone-elses", "x"),
      ],
    })
    expect(problems).toEqual([
      { component: "agent", pool: "etl", reason: "FailedCreate", message: 'serviceaccount "team" not found' },
      {
        component: "agent",
        pool: "gpu",
        reason: "Unschedulable",
        message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
      },
      { component: "server", reason: "CreateContainerConfigError", message: 'secret "db-tls" not found' },
      {
        component: "server",
        reason: "FailedMount",
        message: 'MountVolume.SetUp failed for volume "certs" : secret "db-ca" not found',
      },
    ])
  })

  it("says each reason once per component, whatever order the pods were listed in", () => {
    const pods = [1, 2, 3].map((i) =>
      pod(`p${i}`, gpu, {
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: `m${i}` }],
      }),
    )
    const one = podProblemsOf({ deployments: [], pods, mountEvents: [] })
    expect(one).toHaveLength(1)
    expect(podProblemsOf({ deployments: [], pods: [...pods].reverse(), mountEvents: [] })).toEqual(one)
  })

  it("is read only while a workload has fewer ready pods than it asks for", () => {
    const ready = object({
      kind: "Deployment",
      metadata: { name: "a" },
      spec: { replicas: 2 },
      status: { readyReplicas: 2 },
    })
    const short = object({
      kind: "Deployment",
      metadata: { name: "b" },
      spec: { replicas: 2 },
      status: { readyReplicas: 1 },
    })
    const stopped = object({ kind: "StatefulSet", metadata: { name: "c" }, spec: { replicas: 0 }, status: {} })
    expect(needsDiagnosis([ready, stopped])).toBe(false)
    expect(needsDiagnosis([ready, short])).toBe(true)
  })
})
