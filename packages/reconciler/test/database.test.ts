import { describe, expect, it } from "vitest"
import { pruneTargets } from "../src/index.js"
import { plan } from "../src/plan/planner.js"
import { observeApplied } from "../src/plan/simulate.js"
import { find, has, inputs, inventory, nothing, settled, ws } from "./fixtures.js"

const name = "test-environment-orion-database"

describe("in-cluster Postgres", () => {
  it("runs as a StatefulSet of databaseReplicas behind Service <ws>-orion-database:5432 (tcp-postgres)", () => {
    const p = plan(ws(), nothing)
    const sts = find(p, "StatefulSet", name)
    expect(sts.spec.replicas).toBe(1)
    const service = find(p, "Service", name)
    expect(service.spec.ports).toEqual([
      { name: "tcp-postgres", port: 5432, targetPort: "tcp-postgres", protocol: "TCP" },
    ])
    expect(service.spec.clusterIP).toBeUndefined()
    expect(service.spec.selector).toEqual(sts.spec.selector.matchLabels)
  })

  it("is governed by the headless Service <ws>-orion-database-headless, which names its pod in DNS", () => {
    const p = plan(ws(), nothing)
    const sts = find(p, "StatefulSet", name)
    expect(sts.spec.serviceName).toBe(`${name}-headless`)
    const headless = find(p, "Service", `${name}-headless`)
    expect(headless.spec.clusterIP).toBe("None")
    expect(headless.spec.selector).toEqual(sts.spec.selector.matchLabels)
    // Apply order: the governing Service exists before the StatefulSet.
    const index = (kind: string, n: string) => p.apply.findIndex((o) => o.kind === kind && o.metadata.name === n)
    expect(index("Service", `${name}-headless`)).toBeLessThan(index("StatefulSet", name))
  })

  it("re-creates a StatefulSet governed by another Service around its running pod: deleted with the pod orphaned, then planned again", () => {
    const w = ws()
    const world = settled(w)
    const before = { ...world, database: { ...world.database, serviceName: name } }
    const p = plan(w, before)
    // serviceName cannot change in place: no apply of the StatefulSet this time, a prune that keeps its pod.
    expect(has(p, "StatefulSet", name)).toBe(false)
    expect(p.prune.find((s) => s.kind === "StatefulSet")).toMatchObject({ keep: [], orphanDependents: true })
    expect(pruneTargets(p.prune, inventory(plan(w, world))).map((o) => `${o.kind}/${o.name}`)).toEqual([
      `StatefulSet/${name}`,
    ])
    // The volume, its Secret and the Services stay.
    expect(has(p, "PersistentVolumeClaim", `${name}-pvc`)).toBe(true)
    expect(has(p, "Service", `${name}-headless`)).toBe(true)
    // Once it is gone, the StatefulSet is planned again, governed by the headless Service, and pruning orphans no more.
    const { database: _recreated, ...withoutDatabase } = world
    const gone = plan(w, withoutDatabase)
    expect(find(gone, "StatefulSet", name).spec.serviceName).toBe(`${name}-headless`)
    expect(gone.prune.some((s) => s.orphanDependents === true)).toBe(false)
    expect(plan(w, world).prune.some((s) => s.orphanDependents === true)).toBe(false)
  })

  it("is stopped, not deleted, with databaseReplicas 0, and says so in Ready", () => {
    const p = plan(ws({ databaseReplicas: 0 }), nothing)
    expect(find(p, "StatefulSet", name).spec.replicas).toBe(0)
    expect(has(p, "PersistentVolumeClaim", `${name}-pvc`)).toBe(true)
    expect(p.status.conditions?.find((c) => c.type === "Ready")?.reason).toBe("DatabaseStopped")
  })

  it("keeps its data in a subdirectory of the volume and is probed with pg_isready over TCP", () => {
    const pod = find(plan(ws(), nothing), "StatefulSet", name).spec.template.spec
    const postgres = pod.containers[0]
    expect(postgres?.env).toContainEqual({ name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" })
    expect(postgres?.volumeMounts).toEqual([{ name: "data", mountPath: "/var/lib/postgresql/data" }])
    expect(pod.volumes).toEqual([{ name: "data", persistentVolumeClaim: { claimName: `${name}-pvc` } }])
    for (const probe of [postgres?.startupProbe, postgres?.livenessProbe, postgres?.readinessProbe])
      expect(probe?.exec?.command.slice(0, 3)).toEqual(["pg_isready", "-h", "127.0.0.1"])
  })

  it("runs as the image's postgres user, hardened, without a service account token, with default resources", () => {
    const pod = find(plan(ws(), nothing), "StatefulSet", name).spec.template.spec
    expect(pod.securityContext).toMatchObject({
      runAsUser: 999,
      fsGroup: 999,
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    })
    expect(pod.automountServiceAccountToken).toBe(false)
    expect(pod.containers[0]?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    })
    expect(pod.containers[0]?.resources.requests).toEqual({ cpu: "250m", memory: "256Mi" })
  })

  it("sizes the volume by storageQuota and sets a storage class only when one is given", () => {
    const plain = find(plan(ws({ storageQuota: "32Gi" }), nothing), "PersistentVolumeClaim", `${name}-pvc`)
    expect(plain.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "32Gi" } } })
    const classed = find(plan(ws({ storageClassName: "fast" }), nothing), "PersistentVolumeClaim", `${name}-pvc`)
    expect(classed.spec.storageClassName).toBe("fast")
  })

  it("retains the volume and its password Secret when the Workspace is deleted, unless deleteVolumeWithWorkspace", () => {
    const secret = "test-environment-environment-secrets"
    const retained = plan(ws(), nothing)
    expect(find(retained, "PersistentVolumeClaim", `${name}-pvc`).metadata.ownerReferences).toBeUndefined()
    expect(find(retained, "Secret", secret).metadata.ownerReferences).toBeUndefined()
    const deleted = plan(ws({ database: { deleteVolumeWithWorkspace: true } }), nothing)
    for (const object of [find(deleted, "PersistentVolumeClaim", `${name}-pvc`), find(deleted, "Secret", secret)])
      expect(object.metadata.ownerReferences?.[0]).toMatchObject({ uid: "uid-1", controller: true })
  })

  it("after switching to an external database and migrating it, prunes the Postgres workload but never its volume or Secret", () => {
    const internal = ws()
    const world = settled(internal)
    const before = plan(internal, world)
    const external = ws({ database: { external: { secretRef: { name: "prefect-db" } } } })
    // While the external database is being migrated the running server still uses Postgres: nothing is pruned yet.
    const migrating = plan(external, world)
    expect(has(migrating, "StatefulSet", name)).toBe(true)
    const migrated = plan(external, observeApplied(migrating, { ...inputs, previous: world, migration: "succeeded" }))
    const pruned = pruneTargets(migrated.prune, inventory(before)).map((o) => `${o.kind}/${o.name}`)
    expect(pruned).toEqual(expect.arrayContaining([`Service/${name}`, `StatefulSet/${name}`, `NetworkPolicy/${name}`]))
    expect(pruned).not.toContain(`PersistentVolumeClaim/${name}-pvc`)
    expect(pruned).not.toContain("Secret/test-environment-environment-secrets")
  })
})
