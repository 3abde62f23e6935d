/**
 * The in-cluster Postgres: PVC `<ws>-orion-database-pvc`, Service `<ws>-orion-database:5432` and a StatefulSet of the
 * same name, governed by the headless Service `<ws>-orion-database-headless` (its `serviceName`, which names its pod
 * in DNS).
 *
 * Why a StatefulSet (replicas = `databaseReplicas`, 0 or 1) rather than a Deployment with `Recreate`: a StatefulSet
 * guarantees at most one pod per identity. When a node stops answering, a Deployment's ReplicaSet starts a replacement
 * as soon as the old pod is marked for deletion, while the old Postgres may still be running and writing; a
 * ReadWriteOnce volume does not prevent two pods on one node (or a force-detached volume) from opening the same data
 * directory, and Postgres' own lock file cannot see a postmaster in another PID namespace. The StatefulSet waits
 * until the old pod is really gone. `Recreate` only orders rollouts, not this. The volume is a plain PVC (not a
 * `volumeClaimTemplate`) so that it keeps the original Cartographer's name and survives the StatefulSet.
 */

import { Defaults } from "@cartographer/schema"
import { metadata, type PlanContext } from "./context.js"
import type { Container, PersistentVolumeClaim, Probe, Service, StatefulSet } from "./kube.js"
import { type Component, labels, selectorLabels } from "./labels.js"
import { databaseHeadlessName, databaseName, databaseVolumeName, secretName } from "./names.js"
import type { Observed } from "./Observed.js"
import { podComponent } from "./placement.js"
import { containerSecurity, imageServiceUid, podFields, podTemplate, pullPolicy } from "./podSecurity.js"
import { defaultResources, resourcesOr } from "./resources.js"
import { databaseDb, databasePort, databaseUser, secretKeys } from "./secrets.js"
import { planComponentService } from "./service.js"

export const postgresPortName = "tcp-postgres"
export const dataMountPath = "/var/lib/postgresql/data"
/** A subdirectory: a fresh volume's root may hold `lost+found`, and initdb refuses a non-empty directory. */
export const pgdata = `${dataMountPath}/pgdata`

export const postgresImage = (ctx: PlanContext): string => ctx.workflows.database.image ?? Defaults.defaultPostgresImage

/** Over TCP on 127.0.0.1: during initdb the entrypoint's temporary server listens on the socket only. */
const pgIsReady: ReadonlyArray<string> = [
  "pg_isready",
  "-h",
  "127.0.0.1",
  "-p",
  String(databasePort),
  "-U",
  databaseUser,
  "-d",
  databaseDb,
]

const probe = (periodSeconds: number, failureThreshold: number): Probe => ({
  exec: { command: pgIsReady },
  periodSeconds,
  timeoutSeconds: 5,
  failureThreshold,
})

/**
 * A volume that holds data: retained by default (without an owner reference, deleting the Workspace leaves it, and a
 * Workspace of the same name binds to it again), never pruned.
 */
export const planRetainedVolume = (
  ctx: PlanContext,
  name: string,
  component: Component,
  size: string,
  storageClassName: string | undefined,
): PersistentVolumeClaim => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: metadata(ctx, name, labels(ctx, component), { owned: ctx.workflows.database.deleteVolumeWithWorkspace }),
  spec: {
    accessModes: ["ReadWriteOnce"],
    ...(storageClassName === undefined ? {} : { storageClassName }),
    resources: { requests: { storage: size } },
  },
})

export const planDatabaseVolume = (ctx: PlanContext): PersistentVolumeClaim =>
  planRetainedVolume(
    ctx,
    databaseVolumeName(ctx),
    "database",
    ctx.workflows.storageQuota,
    ctx.workflows.storageClassName,
  )

/** Postgres's port, as both of the database's Services expose it. */
const databaseServicePort = { name: postgresPortName, port: databasePort }

export const planDatabaseService = (ctx: PlanContext): Service =>
  planComponentService(ctx, databaseName(ctx), "database", databaseServicePort)

export const planDatabaseHeadlessService = (ctx: PlanContext): Service =>
  planComponentService(ctx, databaseHeadlessName(ctx), "database", databaseServicePort, { headless: true })

/**
 * Whether the StatefulSet that exists is governed by another Service (the ClusterIP one, as Cartographer planned it
 * before it had a headless one). `serviceName` cannot be changed in place: such a StatefulSet is deleted with its pod
 * left running (orphaned), and the one planned next adopts that pod, so Postgres keeps serving throughout.
 */
export const databaseNeedsRecreate = (ctx: PlanContext, observed: Observed): boolean =>
  observed.database?.serviceName !== undefined && observed.database.serviceName !== databaseHeadlessName(ctx)

export const planDatabaseStatefulSet = (ctx: PlanContext): StatefulSet => {
  const component = podComponent(ctx, "database")
  const container: Container = {
    name: "postgres",
    image: postgresImage(ctx),
    imagePullPolicy: pullPolicy(ctx),
    env: [
      { name: "POSTGRES_USER", value: databaseUser },
      { name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: secretName(ctx), key: secretKeys.password } } },
      { name: "POSTGRES_DB", value: databaseDb },
      { name: "PGDATA", value: pgdata },
    ],
    ports: [{ name: postgresPortName, containerPort: databasePort, protocol: "TCP" }],
    resources: resourcesOr(ctx.workflows.database.resources, defaultResources.database),
    volumeMounts: [{ name: "data", mountPath: dataMountPath }],
    // Read-only root is left off: the entrypoint and initdb write outside PGDATA (/var/run/postgresql); making that
    // work needs extra writable mounts not yet verified against the official image.
    securityContext: containerSecurity({ readOnlyRootFilesystem: false }),
    // A cold start may replay WAL for minutes: the startup probe covers it, then liveness takes over.
    startupProbe: probe(5, 60),
    livenessProbe: probe(10, 6),
    readinessProbe: probe(5, 3),
  }
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: metadata(ctx, databaseName(ctx), labels(ctx, "database")),
    spec: {
      replicas: ctx.workflows.databaseReplicas,
      serviceName: databaseHeadlessName(ctx),
      selector: { matchLabels: selectorLabels(ctx, "database") },
      template: podTemplate(ctx, component, {
        // The image's `postgres` user; fsGroup makes the volume writable for it, OnRootMismatch avoids a recursive
        // chown of the whole data directory on every start.
        ...podFields(ctx, component, imageServiceUid, { group: true, fsGroupChangePolicy: "OnRootMismatch" }),
        // Time for a clean shutdown (a checkpoint) before SIGKILL.
        terminationGracePeriodSeconds: 60,
        containers: [container],
        volumes: [{ name: "data", persistentVolumeClaim: { claimName: databaseVolumeName(ctx) } }],
      }),
    },
  }
}
