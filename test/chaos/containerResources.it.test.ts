// Container resources, judged three ways: `validateWorkspace`, the API server with the generated CRD, and the API
// server on a Deployment carrying the same resources (what the operator would apply). The Schema and the CRD check
// what Kubernetes enforces on a container (known names, whole extended resources, no request above its limit, a
// limit equal to the request for what is never overcommitted), so that a Workspace whose pods could not exist is
// refused when it is applied, with a path, rather than accepted and left Degraded. The Deployment is the referee:
// each case must get the same verdict from all three (but for one, marked, where the CRD can only be stricter), so
// these rules follow Kubernetes' and not our reading of it.
import { sharedControlPlane, useNamespace } from "@cartographer/test/harness"
import { beforeAll, describe, expect, it } from "vitest"
import { type RawApi, rawApi } from "../bench/support/rawApi.js"
import { schemaVerdict, serverRejectionHasPath, serverVerdict } from "./fuzz/verdicts.js"

const namespace = useNamespace("resources")
let api: RawApi

beforeAll(async () => {
  api = await rawApi(sharedControlPlane().kubeConfig, { maxSockets: 4 })
})

type List = Record<string, string | number>
interface Case {
  readonly name: string
  readonly resources: { readonly requests?: List; readonly limits?: List }
  /** Where the Schema says the problem is (after `resources`), for a case the Schema and the CRD refuse. */
  readonly refusedAt?: string
  /** Refused by the Schema and the CRD although a Deployment takes it: deliberately stricter (see the case). */
  readonly stricter?: true
}

const cases: ReadonlyArray<Case> = [
  { name: "a request below its limit", resources: { requests: { cpu: "500m" }, limits: { cpu: 1 } } },
  {
    name: "a request equal to its limit in another unit",
    resources: { requests: { memory: "1Gi" }, limits: { memory: "1024Mi" } },
  },
  { name: "requests without limits", resources: { requests: { cpu: 4, memory: "8Gi", "ephemeral-storage": "1Gi" } } },
  { name: "a GPU limit alone (the request defaults to it)", resources: { limits: { "nvidia.com/gpu": 1 } } },
  {
    name: "a GPU request equal to its limit",
    resources: { requests: { "nvidia.com/gpu": "2" }, limits: { "nvidia.com/gpu": 2 } },
  },
  {
    name: "hugepages with equal request and limit, and memory",
    resources: {
      requests: { "hugepages-2Mi": "4Mi", memory: "1Gi" },
      limits: { "hugepages-2Mi": "4Mi", memory: "1Gi" },
    },
  },
  {
    name: "requests that differ below a nano (both round up to 1n)",
    resources: { requests: { cpu: "1e-12" }, limits: { cpu: "1e-11" } },
  },
  {
    name: "a request above its limit, both beyond 2^63 (the API server does not cap them)",
    resources: { requests: { "ephemeral-storage": "1e30" }, limits: { "ephemeral-storage": "1e29" } },
    refusedAt: ".requests.ephemeral-storage",
  },
  {
    name: "a request above its limit",
    resources: { requests: { cpu: 2 }, limits: { cpu: "1" } },
    refusedAt: ".requests.cpu",
  },
  {
    name: "a request above its limit by one byte past 2^53 (where floating point sees them equal)",
    resources: { requests: { memory: "9007199254740993" }, limits: { memory: "9007199254740992" } },
    refusedAt: ".requests.memory",
  },
  {
    name: "a fractional GPU",
    resources: { limits: { "nvidia.com/gpu": "500m" } },
    refusedAt: '.limits["nvidia.com/gpu"]',
  },
  {
    name: "a GPU request without a limit",
    resources: { requests: { "nvidia.com/gpu": 1 } },
    refusedAt: '.requests["nvidia.com/gpu"]',
  },
  {
    name: "a GPU request below its limit",
    resources: { requests: { "nvidia.com/gpu": 1 }, limits: { "nvidia.com/gpu": 2 } },
    refusedAt: '.requests["nvidia.com/gpu"]',
  },
  {
    name: "hugepages requested below their limit",
    resources: { requests: { "hugepages-2Mi": "2Mi", memory: "1Gi" }, limits: { "hugepages-2Mi": "4Mi" } },
    refusedAt: ".requests.hugepages-2Mi",
  },
  { name: "a resource name without a domain", resources: { limits: { gpu: 1 } }, refusedAt: ".limits.gpu" },
  {
    // CEL's isInteger() is false for whole values the API server keeps as decimals (1.5Gi), so the CRD checks GPU
    // counts with a pattern, and the Schema with the same one: plain digits.
    name: "a GPU count written with a unit (1.5Gi), which only a Deployment takes",
    resources: { limits: { "nvidia.com/gpu": "1.5Gi" } },
    refusedAt: '.limits["nvidia.com/gpu"]',
    stricter: true,
  },
]

const workspace = (resources: Case["resources"]) => ({
  apiVersion: "mlops.aigency.com/v1alpha1",
  kind: "Workspace",
  metadata: { name: "ws" },
  spec: { workflows: { agentPools: [{ name: "a", resources }] } },
})

const deploymentVerdict = async (resources: Case["resources"]) => {
  const response = await api.send({
    method: "POST",
    path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    query: { dryRun: "All" },
    body: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "probe" },
      spec: {
        selector: { matchLabels: { app: "probe" } },
        template: {
          metadata: { labels: { app: "probe" } },
          spec: { containers: [{ name: "c", image: "busybox", resources }] },
        },
      },
    },
  })
  return { accepted: response.status < 300, body: response.body }
}

describe("container resources: the Schema, the CRD and a Deployment agree", () => {
  for (const c of cases) {
    it(`${c.refusedAt === undefined ? "accept" : "refuse"} ${c.name}`, async () => {
      const deployment = await deploymentVerdict(c.resources)
      const schema = schemaVerdict(workspace(c.resources))
      const server = await serverVerdict(api, namespace, workspace(c.resources))
      expect(deployment.accepted, deployment.body).toBe(c.refusedAt === undefined || c.stricter === true)
      if (c.refusedAt === undefined) {
        expect("ok" in schema && schema.ok, JSON.stringify(schema)).toBe(true)
        expect("accepted" in server && server.accepted, JSON.stringify(server)).toBe(true)
        return
      }
      expect("ok" in schema && !schema.ok && schema.issues.map((i) => i.path), JSON.stringify(schema)).toEqual([
        `spec.workflows.agentPools[0].resources${c.refusedAt}`,
      ])
      expect("accepted" in server && !server.accepted && serverRejectionHasPath(server), JSON.stringify(server)).toBe(
        true,
      )
    })
  }
})
