import { describe, expect, it } from "vitest"
import { holds, intentAnnotation, intentHash, sameJson, withIntent } from "../../src/engine/NoOp.js"
import { convergedPlan } from "../../src/index.js"
import { inputs, ws } from "../fixtures.js"

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> }

const planned = convergedPlan(ws(), {
  now: "2025-01-01T00:00:00Z",
  generatedPassword: "pw",
  generatedSecrets: inputs.generatedSecrets,
})
const byKind = (kind: string, component?: string) => {
  const found = planned.apply.find(
    (o) =>
      o.kind === kind && (component === undefined || o.metadata.labels["mlops.aigency.com/component"] === component),
  )
  if (found === undefined) throw new Error(`no ${kind}`)
  return withIntent(found) as unknown as Obj
}

/** A deep copy, edited: what the API server (or a user) made of an applied object. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures edit deeply nested Kubernetes JSON in place.
const edit = (object: Obj, change: (copy: any) => void): Obj => {
  const copy = structuredClone(object)
  change(copy)
  return copy
}

/** What the API server adds to an applied Deployment: defaults, status, server-owned metadata. */
const asServerReturnsIt = (desired: Obj): Obj =>
  edit(desired, (d) => {
    d.metadata.uid = "u-1"
    d.metadata.resourceVersion = "42"
    d.metadata.generation = 3
    d.metadata.creationTimestamp = "2025-01-01T00:00:00Z"
    d.metadata.annotations["deployment.kubernetes.io/revision"] = "3"
    d.spec.progressDeadlineSeconds = 600
    d.spec.strategy.rollingUpdate = { maxSurge: "25%", maxUnavailable: "25%" }
    const pod = d.spec.template.spec
    pod.restartPolicy = "Always"
    pod.dnsPolicy = "ClusterFirst"
    pod.schedulerName = "default-scheduler"
    pod.terminationGracePeriodSeconds = 30
    for (const c of pod.containers) {
      c.terminationMessagePath = "/dev/termination-log"
      c.terminationMessagePolicy ??= "File"
      for (const p of c.ports ?? []) p.protocol ??= "TCP"
      for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
        if (probe?.httpGet !== undefined) probe.httpGet.scheme = "HTTP"
        if (probe !== undefined) probe.successThreshold = 1
      }
    }
    d.status = { observedGeneration: 3, replicas: 1, readyReplicas: 1 }
  })

describe("holds: do the desired fields already hold on the live object?", () => {
  const server = byKind("Deployment", "server")
  const live = asServerReturnsIt(server)

  it("holds when the server only added defaults, status and its own metadata", () => {
    expect(holds(server, live)).toBe(true)
  })

  it("does not hold when the object does not exist", () => {
    expect(holds(server, undefined)).toBe(false)
  })

  it("does not hold when an owned field was edited (replicas, image, an env value)", () => {
    expect(
      holds(
        server,
        edit(live, (d) => (d.spec.replicas = 3)),
      ),
    ).toBe(false)
    expect(
      holds(
        server,
        edit(live, (d) => (d.spec.template.spec.containers[0].image = "other:1")),
      ),
    ).toBe(false)
    expect(
      holds(
        server,
        edit(live, (d) => {
          const env = d.spec.template.spec.containers[0].env
          env.find((e: { name: string }) => e.name === "PREFECT_UI_API_URL").value = "http://elsewhere/api"
        }),
      ),
    ).toBe(false)
  })

  it("does not hold when an owned env entry or label was removed", () => {
    expect(
      holds(
        server,
        edit(live, (d) => {
          d.spec.template.spec.containers[0].env = d.spec.template.spec.containers[0].env.slice(1)
        }),
      ),
    ).toBe(false)
    expect(
      holds(
        server,
        edit(live, (d) => delete d.metadata.labels["app.kubernetes.io/part-of"]),
      ),
    ).toBe(false)
  })

  it("holds when someone else added a label, an annotation or an env entry (fields we do not own)", () => {
    const added = edit(live, (d) => {
      d.metadata.labels.team = "ml"
      d.metadata.annotations["example.com/note"] = "x"
      d.spec.template.spec.containers[0].env.push({ name: "EXTRA", value: "1" })
      d.spec.template.spec.volumes.push({ name: "extra", emptyDir: {} })
    })
    expect(holds(server, added)).toBe(true)
  })

  it("matches keyed lists by key, whatever their order", () => {
    const reordered = edit(live, (d) => d.spec.template.spec.containers[0].env.reverse())
    expect(holds(server, reordered)).toBe(true)
  })

  it("compares atomic lists whole: an extra argument is drift", () => {
    expect(
      holds(
        server,
        edit(live, (d) => d.spec.template.spec.containers[0].args.push("--debug")),
      ),
    ).toBe(false)
  })

  it("compares quantities by value, as the server may normalise them", () => {
    const desired = edit(server, (d) => {
      d.spec.template.spec.containers[0].resources = {
        requests: { cpu: "0.5", memory: "1024Mi" },
        limits: { cpu: "1000m" },
      }
    })
    const normalised = edit(live, (d) => {
      d.spec.template.spec.containers[0].resources = { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "1" } }
    })
    expect(holds(desired, normalised)).toBe(true)
    const changed = edit(normalised, (d) => (d.spec.template.spec.containers[0].resources.requests.memory = "2Gi"))
    expect(holds(desired, changed)).toBe(false)
  })

  it('holds an empty string the server stored as absent (an env var set to ""), and no other missing value', () => {
    const desired = edit(server, (d) => d.spec.template.spec.containers[0].env.push({ name: "EMPTY", value: "" }))
    const stored = edit(asServerReturnsIt(desired), (d) => {
      delete d.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "EMPTY").value
    })
    expect(holds(desired, stored)).toBe(true)
    const otherValue = edit(stored, (d) => {
      d.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "EMPTY").value = "x"
    })
    expect(holds(desired, otherValue)).toBe(false)
    const noImage = edit(live, (d) => delete d.spec.template.spec.containers[0].image)
    expect(holds(server, noImage)).toBe(false)
  })

  it("does not treat other strings as quantities (an env value of 1 is not 1.0)", () => {
    const desired = edit(server, (d) => d.spec.template.spec.containers[0].env.push({ name: "N", value: "1" }))
    const live2 = edit(asServerReturnsIt(desired), (d) => {
      d.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "N").value = "1.0"
    })
    expect(holds(desired, live2)).toBe(false)
  })

  it("treats a NetworkPolicy's ports as an atomic list", () => {
    const policy = byKind("NetworkPolicy")
    const widened = edit(policy, (d) => d.spec.ingress[0].ports.push({ protocol: "TCP", port: 22 }))
    expect(holds(policy, policy)).toBe(true)
    expect(holds(policy, widened)).toBe(false)
  })

  it("never holds for a changed intent, even when every remaining value is still there (a removed field)", () => {
    const withoutHash = edit(server, (d) => {
      d.spec.template.spec.containers[0].env = d.spec.template.spec.containers[0].env.slice(0, -1)
      delete d.metadata.annotations[intentAnnotation]
    })
    // The live object still has every field of the smaller intent, plus the one the plan dropped.
    expect(holds(withIntent(withoutHash as never), live)).toBe(false)
  })
})

describe("the intent hash", () => {
  const server = byKind("Deployment", "server")

  it("is the same for the same plan, made again", () => {
    const again = convergedPlan(ws(), {
      now: "2030-01-01T00:00:00Z",
      generatedPassword: "pw",
      generatedSecrets: inputs.generatedSecrets,
    })
    const server2 = again.apply.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-orion-server"))
    expect(intentHash(server2 as never)).toBe(intentHash(server as never))
  })

  it("is what the annotation of the object sent carries, and ignores that annotation itself", () => {
    const annotations = server.metadata.annotations as Record<string, string>
    expect(annotations[intentAnnotation]).toMatch(/^[0-9a-f]{16}$/u)
    expect(intentHash(server as never)).toBe(annotations[intentAnnotation])
  })

  it("changes when any desired field changes", () => {
    expect(intentHash(edit(server, (d) => (d.spec.replicas = 2)) as never)).not.toBe(intentHash(server as never))
  })

  it("leaves a Secret's values out (only its keys count), so secret material never reaches an annotation", () => {
    const secret = byKind("Secret")
    const otherValues = edit(secret, (d) => (d.data.password = "b3RoZXI="))
    const otherKeys = edit(secret, (d) => (d.data.extra = "eA=="))
    expect(intentHash(otherValues as never)).toBe(intentHash(secret as never))
    expect(intentHash(otherKeys as never)).not.toBe(intentHash(secret as never))
  })
})

describe("sameJson", () => {
  it("compares JSON values regardless of key order", () => {
    expect(sameJson({ a: 1, b: [{ c: 2, d: 3 }] }, { b: [{ d: 3, c: 2 }], a: 1 })).toBe(true)
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false)
    expect(sameJson([1, 2], [2, 1])).toBe(false)
  })
})
