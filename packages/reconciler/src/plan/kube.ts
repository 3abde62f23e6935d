/**
 * The Kubernetes object shapes the planner produces: plain, readonly JSON data, typed just enough that a misspelt
 * field is a compile error. Only the fields Cartographer sets appear; server-side apply leaves the rest to their
 * defaults. No `@kubernetes/client-node` value is imported here (the planner is pure data; see docs/architecture.md).
 * What a Workspace copies from its spec into a pod (tolerations, affinity, volumes) has the Schema's types, which
 * are Kubernetes' own.
 */
import type {
  Affinity,
  EnvFromSource,
  Volume as SpecVolume,
  Toleration,
  TopologySpreadConstraint,
} from "@cartographer/schema"

export type Labels = Readonly<Record<string, string>>

export interface OwnerReference {
  readonly apiVersion: string
  readonly kind: string
  readonly name: string
  readonly uid: string
  readonly controller: true
  readonly blockOwnerDeletion: true
}

export interface ObjectMeta {
  readonly name: string
  readonly namespace: string
  readonly labels: Labels
  readonly annotations?: Readonly<Record<string, string>>
  readonly ownerReferences?: ReadonlyArray<OwnerReference>
}

export interface KeyRef {
  readonly name: string
  readonly key: string
}

export interface EnvVar {
  readonly name: string
  readonly value?: string
  readonly valueFrom?: {
    readonly secretKeyRef?: KeyRef
    readonly configMapKeyRef?: KeyRef
  }
}

export interface ContainerPort {
  readonly name: string
  readonly containerPort: number
  readonly protocol: "TCP"
}

export interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: string }
  readonly exec?: { readonly command: ReadonlyArray<string> }
  readonly tcpSocket?: { readonly port: string }
  readonly initialDelaySeconds?: number
  readonly periodSeconds: number
  readonly timeoutSeconds: number
  readonly failureThreshold: number
}

export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, string>>
  readonly limits?: Readonly<Record<string, string>>
}

export interface SecurityContext {
  readonly runAsUser?: number
  readonly runAsGroup?: number
  readonly runAsNonRoot: true
  readonly readOnlyRootFilesystem: boolean
  readonly allowPrivilegeEscalation: false
  readonly capabilities: { readonly drop: ReadonlyArray<"ALL"> }
  readonly seccompProfile: { readonly type: "RuntimeDefault" }
}

export interface VolumeMount {
  readonly name: string
  readonly mountPath: string
  readonly subPath?: string
  readonly readOnly?: boolean
}

export interface Container {
  readonly name: string
  readonly image: string
  readonly imagePullPolicy: "Always" | "IfNotPresent" | "Never"
  /** Only for non-Prefect images: the Prefect images' entrypoint (tini + EXTRA_PIP_PACKAGES) must be kept. */
  readonly command?: ReadonlyArray<string>
  readonly args?: ReadonlyArray<string>
  readonly workingDir?: string
  readonly env?: ReadonlyArray<EnvVar>
  readonly envFrom?: ReadonlyArray<EnvFromSource>
  readonly ports?: ReadonlyArray<ContainerPort>
  readonly resources: ResourceRequirements
  readonly volumeMounts?: ReadonlyArray<VolumeMount>
  readonly securityContext: SecurityContext
  readonly startupProbe?: Probe
  readonly livenessProbe?: Probe
  readonly readinessProbe?: Probe
  readonly terminationMessagePolicy?: "File" | "FallbackToLogsOnError"
}

/** Cartographer's own volumes, or one a Workspace states (`volumes` of the server or a pool). */
export type Volume =
  | {
      readonly name: string
      readonly emptyDir?: { readonly sizeLimit?: string }
      readonly persistentVolumeClaim?: { readonly claimName: string }
    }
  | SpecVolume

export interface PodSecurityContext {
  readonly runAsUser: number
  readonly runAsGroup?: number
  readonly runAsNonRoot: true
  readonly fsGroup: number
  readonly fsGroupChangePolicy?: "OnRootMismatch" | "Always"
  readonly seccompProfile: { readonly type: "RuntimeDefault" }
}

export interface PodSpec {
  readonly serviceAccountName?: string
  readonly automountServiceAccountToken: boolean
  readonly enableServiceLinks: false
  readonly securityContext: PodSecurityContext
  readonly imagePullSecrets?: ReadonlyArray<{ readonly name: string }>
  readonly nodeSelector?: Readonly<Record<string, string>>
  readonly affinity?: Affinity
  readonly tolerations?: ReadonlyArray<Toleration>
  readonly topologySpreadConstraints?: ReadonlyArray<TopologySpreadConstraint>
  readonly priorityClassName?: string
  readonly restartPolicy?: "Always" | "OnFailure" | "Never"
  readonly terminationGracePeriodSeconds?: number
  readonly initContainers?: ReadonlyArray<Container>
  readonly containers: ReadonlyArray<Container>
  readonly volumes?: ReadonlyArray<Volume>
}

export interface PodTemplateSpec {
  readonly metadata: { readonly labels: Labels; readonly annotations?: Readonly<Record<string, string>> }
  readonly spec: PodSpec
}

export interface LabelSelector {
  readonly matchLabels: Labels
}

export interface Secret {
  readonly apiVersion: "v1"
  readonly kind: "Secret"
  readonly metadata: ObjectMeta
  readonly type: "Opaque"
  /** Base64 values, as the API server stores them (so an observed Secret can be re-applied byte for byte). */
  readonly data: Readonly<Record<string, string>>
}

export interface PersistentVolumeClaim {
  readonly apiVersion: "v1"
  readonly kind: "PersistentVolumeClaim"
  readonly metadata: ObjectMeta
  readonly spec: {
    readonly accessModes: ReadonlyArray<"ReadWriteOnce">
    readonly storageClassName?: string
    readonly resources: { readonly requests: { readonly storage: string } }
  }
}

export interface ServicePort {
  readonly name: string
  readonly port: number
  readonly targetPort: string
  readonly protocol: "TCP"
}

export interface Service {
  readonly apiVersion: "v1"
  readonly kind: "Service"
  readonly metadata: ObjectMeta
  readonly spec: {
    readonly type: "ClusterIP"
    /** `None` for a headless Service (DNS names the pods themselves). */
    readonly clusterIP?: "None"
    readonly selector: Labels
    readonly ports: ReadonlyArray<ServicePort>
  }
}

export interface StatefulSet {
  readonly apiVersion: "apps/v1"
  readonly kind: "StatefulSet"
  readonly metadata: ObjectMeta
  readonly spec: {
    readonly replicas: number
    readonly serviceName: string
    readonly selector: LabelSelector
    readonly template: PodTemplateSpec
  }
}

export interface Deployment {
  readonly apiVersion: "apps/v1"
  readonly kind: "Deployment"
  readonly metadata: ObjectMeta
  readonly spec: {
    /** Absent when another controller (an autoscaler) owns it. */
    readonly replicas?: number
    readonly revisionHistoryLimit: number
    readonly selector: LabelSelector
    readonly strategy: { readonly type: "Recreate" } | { readonly type: "RollingUpdate" }
    readonly template: PodTemplateSpec
  }
}

export interface Job {
  readonly apiVersion: "batch/v1"
  readonly kind: "Job"
  readonly metadata: ObjectMeta
  readonly spec: {
    readonly backoffLimit: number
    readonly activeDeadlineSeconds?: number
    readonly podFailurePolicy?: {
      readonly rules: ReadonlyArray<{
        readonly action: "FailJob" | "Ignore" | "Count" | "FailIndex"
        readonly onExitCodes: {
          readonly containerName: string
          readonly operator: "In" | "NotIn"
          readonly values: ReadonlyArray<number>
        }
      }>
    }
    readonly template: PodTemplateSpec
  }
}

/** A Job's spec without its pods' template, as a CronJob's `jobTemplate` holds it too. */
export type JobSpec = Job["spec"]

export interface CronJob {
  readonly apiVersion: "batch/v1"
  readonly kind: "CronJob"
  readonly metadata: ObjectMeta
  readonly spec: {
    readonly schedule: string
    readonly timeZone: string
    readonly concurrencyPolicy: "Forbid"
    readonly suspend: boolean
    readonly successfulJobsHistoryLimit: number
    readonly failedJobsHistoryLimit: number
    readonly jobTemplate: { readonly metadata: { readonly labels: Labels }; readonly spec: JobSpec }
  }
}

export interface PodDisruptionBudget {
  readonly apiVersion: "policy/v1"
  readonly kind: "PodDisruptionBudget"
  readonly metadata: ObjectMeta
  readonly spec: {
    readonly maxUnavailable: number
    readonly selector: LabelSelector
    readonly unhealthyPodEvictionPolicy?: "AlwaysAllow"
  }
}

export interface ServiceAccount {
  readonly apiVersion: "v1"
  readonly kind: "ServiceAccount"
  readonly metadata: ObjectMeta
  readonly automountServiceAccountToken: boolean
}

export interface PolicyRule {
  readonly apiGroups: ReadonlyArray<string>
  readonly resources: ReadonlyArray<string>
  readonly verbs: ReadonlyArray<string>
}

export interface Role {
  readonly apiVersion: "rbac.authorization.k8s.io/v1"
  readonly kind: "Role"
  readonly metadata: ObjectMeta
  readonly rules: ReadonlyArray<PolicyRule>
}

export interface RoleBinding {
  readonly apiVersion: "rbac.authorization.k8s.io/v1"
  readonly kind: "RoleBinding"
  readonly metadata: ObjectMeta
  readonly roleRef: { readonly apiGroup: "rbac.authorization.k8s.io"; readonly kind: "Role"; readonly name: string }
  readonly subjects: ReadonlyArray<{
    readonly kind: "ServiceAccount"
    readonly name: string
    readonly namespace: string
  }>
}

export interface NetworkPolicyPeer {
  readonly podSelector: LabelSelector
}

export interface NetworkPolicy {
  readonly apiVersion: "networking.k8s.io/v1"
  readonly kind: "NetworkPolicy"
  readonly metadata: ObjectMeta
  readonly spec: {
    readonly podSelector: LabelSelector
    readonly policyTypes: ReadonlyArray<"Ingress">
    readonly ingress: ReadonlyArray<{
      readonly from: ReadonlyArray<NetworkPolicyPeer>
      readonly ports: ReadonlyArray<{ readonly protocol: "TCP"; readonly port: number }>
    }>
  }
}

export interface IngressBackend {
  readonly service: { readonly name: string; readonly port: { readonly name: string } }
}

export interface Ingress {
  readonly apiVersion: "networking.k8s.io/v1"
  readonly kind: "Ingress"
  readonly metadata: ObjectMeta
  readonly spec: {
    readonly ingressClassName?: string
    readonly tls?: ReadonlyArray<{ readonly hosts: ReadonlyArray<string>; readonly secretName: string }>
    readonly rules: ReadonlyArray<{
      readonly host?: string
      readonly http: {
        readonly paths: ReadonlyArray<{
          readonly path: string
          readonly pathType: "Prefix"
          readonly backend: IngressBackend
        }>
      }
    }>
  }
}

export interface ParentReference {
  readonly name: string
  readonly namespace?: string
  readonly sectionName?: string
  readonly port?: number
}

export interface HTTPRoute {
  readonly apiVersion: "gateway.networking.k8s.io/v1"
  readonly kind: "HTTPRoute"
  readonly metadata: ObjectMeta
  readonly spec: {
    readonly parentRefs: ReadonlyArray<ParentReference>
    readonly hostnames?: ReadonlyArray<string>
    readonly rules: ReadonlyArray<{
      readonly matches: ReadonlyArray<{ readonly path: { readonly type: "PathPrefix"; readonly value: string } }>
      readonly backendRefs: ReadonlyArray<{ readonly name: string; readonly port: number }>
    }>
  }
}

/** Every kind of object a Plan may apply. */
export type ManagedObject =
  | Secret
  | PersistentVolumeClaim
  | Service
  | StatefulSet
  | Deployment
  | Job
  | CronJob
  | PodDisruptionBudget
  | ServiceAccount
  | Role
  | RoleBinding
  | NetworkPolicy
  | Ingress
  | HTTPRoute

export type ManagedKind = ManagedObject["kind"]
