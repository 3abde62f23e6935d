// What a Workspace says about its components' pods (placement, pod metadata, envFrom, volumes, identity, Job
// template, disruption budget): documents the Schema must refuse, with the exact path and message a user reads, and
// documents it must accept. The Schema's tests (packages/schema/test/podFields.test.ts) and the CRD's
// (test/chaos/podFieldRules.it.test.ts) use the same tables: both must refuse and accept exactly these.
import type { WorkspaceEncoded } from "../src/Workspace.js"

// biome-ignore lint/suspicious/noExplicitAny: bad documents break the Workspace type on purpose
type Loose = any

/** The original Cartographer's minimal Workspace with one change. */
const withChange = (change: (ws: Loose) => void): unknown => {
  const ws: WorkspaceEncoded = {
    apiVersion: "mlops.aigency.com/v1alpha1",
    kind: "Workspace",
    metadata: { name: "test-environment" },
    spec: { workflows: { agentPools: [{ name: "default" }] } },
  }
  change(ws)
  return ws
}

const pool = (fields: Record<string, unknown>) =>
  withChange((ws: Loose) => {
    ws.spec.workflows.agentPools = [{ name: "default", ...fields }]
  })
const workflows = (fields: Record<string, unknown>) =>
  withChange((ws: Loose) => {
    Object.assign(ws.spec.workflows, fields)
  })

const RESERVED_SELECTOR =
  'label "mlops.aigency.com/component" is reserved: Cartographer selects the Workspace\'s pods by its mlops.aigency.com/* labels (Deployments, Services, NetworkPolicies), so a pod must keep the values it sets; use a key of your own'

/** [what is wrong, the document, the exact path, the exact message] */
export const badPodFields: ReadonlyArray<readonly [string, unknown, string, string]> = [
  [
    "a pod label that overrides a selector label",
    workflows({ podLabels: { "mlops.aigency.com/component": "x" } }),
    'spec.workflows.podLabels["mlops.aigency.com/component"]',
    RESERVED_SELECTOR,
  ],
  [
    "a pool's pod label that overrides a recommended label Cartographer sets",
    pool({ podLabels: { "app.kubernetes.io/instance": "other" } }),
    'spec.workflows.agentPools[0].podLabels["app.kubernetes.io/instance"]',
    'label "app.kubernetes.io/instance" is reserved: Cartographer sets it on every pod it runs; use a key of your own',
  ],
  [
    "a pod label value that is no label value",
    workflows({ server: { podLabels: { team: "a b" } } }),
    "spec.workflows.server.podLabels.team",
    "must be a label value: empty, or letters, digits, '-', '_' and '.', starting and ending alphanumeric",
  ],
  [
    "a node selector value that is no label value",
    workflows({ nodeSelector: { pool: "gpu nodes" } }),
    "spec.workflows.nodeSelector.pool",
    "must be a label value: empty, or letters, digits, '-', '_' and '.', starting and ending alphanumeric",
  ],
  [
    "a toleration with operator Exists and a value",
    workflows({ tolerations: [{ key: "gpu", operator: "Exists", value: "true" }] }),
    "spec.workflows.tolerations[0].value",
    "must be empty when operator is Exists",
  ],
  [
    "a toleration without key that is not Exists",
    workflows({ database: { tolerations: [{ value: "x" }] } }),
    "spec.workflows.database.tolerations[0].operator",
    "a toleration without a key must have operator Exists (it then tolerates every taint)",
  ],
  [
    "tolerationSeconds without NoExecute",
    pool({ tolerations: [{ key: "gpu", effect: "NoSchedule", tolerationSeconds: 30 }] }),
    "spec.workflows.agentPools[0].tolerations[0].tolerationSeconds",
    "applies only to effect NoExecute",
  ],
  [
    "an unknown toleration effect",
    workflows({ tolerations: [{ key: "gpu", effect: "NoRun" }] }),
    "spec.workflows.tolerations[0].effect",
    'Expected "NoSchedule" | "PreferNoSchedule" | "NoExecute", got "NoRun"',
  ],
  [
    "a node affinity In requirement without values",
    workflows({
      redis: {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In" }] }],
            },
          },
        },
      },
    }),
    "spec.workflows.redis.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values",
    "must list at least one value for operator In",
  ],
  [
    "a node affinity Gt requirement that is no integer",
    workflows({
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 1, preference: { matchExpressions: [{ key: "cores", operator: "Gt", values: ["many"] }] } },
          ],
        },
      },
    }),
    "spec.workflows.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values",
    "must be exactly one whole number for operator Gt",
  ],
  [
    "a node affinity value that is no label value (the API server refuses it on the pods)",
    workflows({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["eu west"] }] }],
          },
        },
      },
    }),
    "spec.workflows.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]",
    "must be a label value: empty, or letters, digits, '-', '_' and '.', starting and ending alphanumeric",
  ],
  [
    "a pod anti-affinity Exists requirement with values",
    pool({
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              topologyKey: "kubernetes.io/hostname",
              labelSelector: { matchExpressions: [{ key: "app", operator: "Exists", values: ["x"] }] },
            },
          ],
        },
      },
    }),
    "spec.workflows.agentPools[0].affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values",
    "must be empty for operator Exists",
  ],
  [
    "a preference weight above 100",
    workflows({
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 101, podAffinityTerm: { topologyKey: "kubernetes.io/hostname" } },
          ],
        },
      },
    }),
    "spec.workflows.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
    "must be between 1 and 100",
  ],
  [
    "a topology spread constraint with minDomains and ScheduleAnyway",
    workflows({
      server: {
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway", minDomains: 2 },
        ],
      },
    }),
    "spec.workflows.server.topologySpreadConstraints[0].minDomains",
    "applies only to whenUnsatisfiable DoNotSchedule",
  ],
  [
    "two topology spread constraints for the same key and policy",
    workflows({
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" },
        { maxSkew: 2, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" },
      ],
    }),
    "spec.workflows.topologySpreadConstraints[1]",
    "duplicate topology spread constraint (topologyKey=zone, whenUnsatisfiable=DoNotSchedule): each must be unique",
  ],
  [
    "a priority class that is no object name",
    workflows({ migration: { priorityClassName: "High" } }),
    "spec.workflows.migration.priorityClassName",
    "must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
  ],
  [
    "an envFrom with both a Secret and a ConfigMap",
    pool({ envFrom: [{ secretRef: { name: "a" }, configMapRef: { name: "b" } }] }),
    "spec.workflows.agentPools[0].envFrom[0]",
    "must set exactly one of secretRef or configMapRef",
  ],
  [
    "a volume with two sources",
    workflows({ server: { volumes: [{ name: "creds", secret: { secretName: "s" }, emptyDir: {} }] } }),
    "spec.workflows.server.volumes[0]",
    "must set exactly one of secret, configMap, emptyDir, persistentVolumeClaim, csi, projected",
  ],
  [
    "a volume with no source the restricted profile admits (hostPath)",
    pool({ volumes: [{ name: "host", hostPath: { path: "/" } }] }),
    "spec.workflows.agentPools[0].volumes[0].hostPath",
    "unknown field: not part of the Workspace schema (check its spelling and indentation)",
  ],
  [
    "a volume named like one of Cartographer's",
    pool({ volumes: [{ name: "tmp", emptyDir: {} }] }),
    "spec.workflows.agentPools[0].volumes[0].name",
    '"tmp" is the name of a volume Cartographer mounts; choose another',
  ],
  [
    "two volumes of one name",
    pool({
      volumes: [
        { name: "creds", emptyDir: {} },
        { name: "creds", secret: { secretName: "s" } },
      ],
    }),
    "spec.workflows.agentPools[0].volumes[1]",
    "duplicate volume name (name=creds): each must be unique",
  ],
  [
    "a mount of a volume the component does not have",
    workflows({ server: { volumeMounts: [{ name: "creds", mountPath: "/etc/creds" }] } }),
    "spec.workflows.server.volumeMounts[0].name",
    'names no volume of this component\'s volumes: add "creds" there',
  ],
  [
    "a mount over Cartographer's own writable home",
    pool({ volumes: [{ name: "creds", emptyDir: {} }], volumeMounts: [{ name: "creds", mountPath: "/home/prefect" }] }),
    "spec.workflows.agentPools[0].volumeMounts[0].mountPath",
    "Cartographer mounts its own volume at /home/prefect; mount below it or elsewhere",
  ],
  [
    "a relative mount path",
    pool({ volumes: [{ name: "creds", emptyDir: {} }], volumeMounts: [{ name: "creds", mountPath: "etc/creds" }] }),
    "spec.workflows.agentPools[0].volumeMounts[0].mountPath",
    "must be an absolute path without a trailing '/', such as /etc/credentials",
  ],
  [
    "a subPath that climbs out of the volume",
    pool({
      volumes: [{ name: "creds", emptyDir: {} }],
      volumeMounts: [{ name: "creds", mountPath: "/etc/creds", subPath: "a/../../b" }],
    }),
    "spec.workflows.agentPools[0].volumeMounts[0].subPath",
    "must be a relative path without '..' segments, such as config/app.yaml",
  ],
  [
    "a ServiceAccount both named and annotated",
    pool({ serviceAccount: { name: "flows", annotations: { "eks.amazonaws.com/role-arn": "arn" } } }),
    "spec.workflows.agentPools[0].serviceAccount.annotations",
    "must not be set with name: Cartographer does not change a ServiceAccount it did not create",
  ],
  [
    "a Job template on a process pool",
    pool({ jobTemplate: { image: "my/flows:1" } }),
    "spec.workflows.agentPools[0].jobTemplate",
    "applies only to type kubernetes: a process pool runs no Jobs",
  ],
  [
    "a Job template asking for a fraction of a GPU",
    pool({ type: "kubernetes", jobTemplate: { resources: { limits: { "nvidia.com/gpu": "500m" } } } }),
    'spec.workflows.agentPools[0].jobTemplate.resources.limits["nvidia.com/gpu"]',
    "must be a whole number such as 1 or 2: extended resources are counted in units",
  ],
  [
    "a Job template pull Secret listed twice",
    pool({ type: "kubernetes", jobTemplate: { imagePullSecrets: ["regcred", "regcred"] } }),
    "spec.workflows.agentPools[0].jobTemplate.imagePullSecrets[1]",
    'duplicate Secret name "regcred": each must be unique',
  ],
  [
    "a negative TTL after finished",
    pool({ type: "kubernetes", jobTemplate: { ttlSecondsAfterFinished: -1 } }),
    "spec.workflows.agentPools[0].jobTemplate.ttlSecondsAfterFinished",
    "must be 0 or more",
  ],
  [
    "a disruption budget that allows no disruption",
    pool({ replicas: 2, podDisruptionBudget: { maxUnavailable: 0 } }),
    "spec.workflows.agentPools[0].podDisruptionBudget.maxUnavailable",
    "must be 1 or more",
  ],
]

/** Documents the Schema (and the CRD) must accept: every new field, set as a team would. */
export const goodPodFields: ReadonlyArray<readonly [string, unknown]> = [
  [
    "Workspace-wide placement with per-component overrides",
    workflows({
      nodeSelector: { pool: "general" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "prefect", effect: "NoSchedule" }],
      priorityClassName: "prefect-high",
      podLabels: { team: "ml", "app.kubernetes.io/version": "3.9.1" },
      podAnnotations: { "prometheus.io/scrape": "true" },
      server: {
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 100,
                podAffinityTerm: {
                  topologyKey: "kubernetes.io/hostname",
                  labelSelector: { matchLabels: { "mlops.aigency.com/component": "server" } },
                },
              },
            ],
          },
        },
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
        ],
      },
      database: { nodeSelector: {}, tolerations: [] },
      migration: { priorityClassName: "batch" },
    }),
  ],
  [
    "a GPU pool with its own identity, configuration and flow-run Jobs",
    pool({
      type: "kubernetes",
      replicas: 2,
      nodeSelector: { pool: "cpu" },
      serviceAccount: { annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/prefect" } },
      envFrom: [{ secretRef: { name: "flow-credentials" } }, { configMapRef: { name: "settings", optional: true } }],
      volumes: [
        { name: "cache", emptyDir: { medium: "Memory", sizeLimit: "1Gi" } },
        {
          name: "certs",
          projected: { sources: [{ configMap: { name: "ca", items: [{ key: "ca.crt", path: "ca.crt" }] } }] },
        },
      ],
      volumeMounts: [
        { name: "cache", mountPath: "/home/prefect/.cache" },
        { name: "certs", mountPath: "/etc/ssl/extra", readOnly: true },
      ],
      podDisruptionBudget: { maxUnavailable: 1 },
      jobTemplate: {
        image: "registry.example.com/flows:7",
        env: [
          { name: "MODEL", value: "small" },
          { name: "TOKEN", valueFrom: { secretKeyRef: { name: "hf", key: "token" } } },
        ],
        envFrom: [{ secretRef: { name: "flow-credentials" } }],
        resources: { requests: { cpu: "1", memory: "4Gi" }, limits: { memory: "8Gi", "nvidia.com/gpu": 1 } },
        serviceAccountName: "flows",
        nodeSelector: { "nvidia.com/gpu.present": "true" },
        tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
        imagePullSecrets: ["regcred"],
        ttlSecondsAfterFinished: 3600,
      },
    }),
  ],
  [
    "an existing ServiceAccount, a budget switched off",
    pool({ serviceAccount: { name: "workers" }, podDisruptionBudget: { enabled: false } }),
  ],
]
