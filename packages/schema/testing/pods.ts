/**
 * Generators of what a Workspace says about its components' pods: placement (node selector, tolerations, affinity,
 * topology spread, priority class, pod labels and annotations), `envFrom`, volumes and their mounts, a pool's
 * ServiceAccount, disruption budget and flow-run Job template. All valid, as users write them.
 */
import fc from "fast-check"

const name = (max: number) =>
  fc
    .tuple(
      fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"),
      fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), maxLength: max - 2 }),
      fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
    )
    .map(([head, middle, tail]) => `${head}${middle}${tail}`)

const labelKey = fc.constantFrom("pool", "kubernetes.io/arch", "topology.kubernetes.io/zone", "example.com/tier")
const labelValue = fc.oneof(name(10), fc.constant(""))

const labels = (keys: fc.Arbitrary<string>) => fc.dictionary(keys, labelValue, { maxKeys: 3 })

export const toleration = fc.oneof(
  fc.record(
    {
      key: labelKey,
      operator: fc.constant("Equal"),
      value: labelValue,
      effect: fc.constantFrom("NoSchedule", "PreferNoSchedule"),
    },
    { requiredKeys: ["key"] },
  ),
  fc.record({ key: labelKey, operator: fc.constant("Exists") }, { requiredKeys: ["operator"] }),
  fc.record({
    key: labelKey,
    effect: fc.constant("NoExecute"),
    tolerationSeconds: fc.integer({ min: 0, max: 3600 }),
  }),
)

const requirement = <O extends string>(operators: ReadonlyArray<O>) =>
  fc.constantFrom(...operators).chain((operator) =>
    fc.record({
      key: labelKey,
      operator: fc.constant(operator),
      ...(operator === "In" || operator === "NotIn"
        ? { values: fc.array(name(8), { minLength: 1, maxLength: 3 }) }
        : operator === "Gt" || operator === "Lt"
          ? { values: fc.integer({ min: 0, max: 100 }).map((n) => [String(n)]) }
          : {}),
    }),
  )

const labelSelector = fc.record(
  {
    matchLabels: labels(fc.constantFrom("app", "mlops.aigency.com/component", "team")),
    matchExpressions: fc.array(requirement(["In", "NotIn", "Exists", "DoesNotExist"] as const), { maxLength: 2 }),
  },
  { requiredKeys: [] },
)

const nodeSelectorTerm = fc.record(
  {
    matchExpressions: fc.array(requirement(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] as const), {
      maxLength: 2,
    }),
  },
  { requiredKeys: [] },
)

const podAffinityTerm = fc.record(
  {
    labelSelector,
    topologyKey: fc.constantFrom("kubernetes.io/hostname", "topology.kubernetes.io/zone"),
    namespaces: fc.array(name(8), { maxLength: 2 }),
  },
  { requiredKeys: ["topologyKey"] },
)

export const affinity = fc.record(
  {
    nodeAffinity: fc.record(
      {
        requiredDuringSchedulingIgnoredDuringExecution: fc.record({
          nodeSelectorTerms: fc.array(nodeSelectorTerm, { minLength: 1, maxLength: 2 }),
        }),
        preferredDuringSchedulingIgnoredDuringExecution: fc.array(
          fc.record({ weight: fc.integer({ min: 1, max: 100 }), preference: nodeSelectorTerm }),
          { maxLength: 2 },
        ),
      },
      { requiredKeys: [] },
    ),
    podAntiAffinity: fc.record(
      {
        preferredDuringSchedulingIgnoredDuringExecution: fc.array(
          fc.record({ weight: fc.integer({ min: 1, max: 100 }), podAffinityTerm }),
          { maxLength: 2 },
        ),
        requiredDuringSchedulingIgnoredDuringExecution: fc.array(podAffinityTerm, { maxLength: 1 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
)

const spreadConstraint = fc
  .tuple(
    fc.constantFrom("kubernetes.io/hostname", "topology.kubernetes.io/zone"),
    fc.constantFrom("DoNotSchedule", "ScheduleAnyway"),
  )
  .chain(([topologyKey, whenUnsatisfiable]) =>
    fc.record(
      {
        maxSkew: fc.integer({ min: 1, max: 3 }),
        topologyKey: fc.constant(topologyKey),
        whenUnsatisfiable: fc.constant(whenUnsatisfiable),
        labelSelector,
        ...(whenUnsatisfiable === "DoNotSchedule" ? { minDomains: fc.integer({ min: 1, max: 3 }) } : {}),
        nodeTaintsPolicy: fc.constantFrom("Honor", "Ignore"),
      },
      { requiredKeys: ["maxSkew", "topologyKey", "whenUnsatisfiable"] },
    ),
  )

/** The placement fields of a component (or of the Workspace): any subset. */
export const placement = fc.record(
  {
    nodeSelector: labels(labelKey),
    tolerations: fc.array(toleration, { maxLength: 3 }),
    affinity,
    topologySpreadConstraints: fc.uniqueArray(spreadConstraint, {
      maxLength: 2,
      selector: (c) => `${c.topologyKey}/${c.whenUnsatisfiable}`,
    }),
    priorityClassName: fc.constantFrom("high", "batch-low"),
    podLabels: labels(fc.constantFrom("team", "cost-center", "example.com/tier", "app.kubernetes.io/version")),
    podAnnotations: fc.dictionary(
      fc.constantFrom("prometheus.io/scrape", "sidecar.istio.io/inject", "example.com/note"),
      fc.string({ maxLength: 12 }),
      { maxKeys: 2 },
    ),
  },
  { requiredKeys: [] },
)

const keyToPath = fc.record({ key: fc.constantFrom("token", "ca.crt"), path: fc.constantFrom("token", "certs/ca.crt") })

const volumeSource = fc.oneof(
  fc
    .record(
      { secretName: name(12), items: fc.array(keyToPath, { maxLength: 2 }), defaultMode: fc.constantFrom(256, 420) },
      { requiredKeys: ["secretName"] },
    )
    .map((secret) => ({ secret })),
  fc.record({ name: name(12), optional: fc.boolean() }, { requiredKeys: ["name"] }).map((configMap) => ({ configMap })),
  fc
    .record({ medium: fc.constantFrom("", "Memory"), sizeLimit: fc.constantFrom("64Mi", "1Gi") }, { requiredKeys: [] })
    .map((emptyDir) => ({ emptyDir })),
  fc
    .record({ claimName: name(12), readOnly: fc.boolean() }, { requiredKeys: ["claimName"] })
    .map((persistentVolumeClaim) => ({ persistentVolumeClaim })),
  fc.record({ driver: fc.constant("secrets-store.csi.k8s.io"), readOnly: fc.constant(true) }).map((csi) => ({ csi })),
  fc
    .array(
      fc.oneof(
        fc.record({ secret: fc.record({ name: name(10) }) }),
        fc.record({
          serviceAccountToken: fc.record(
            { path: fc.constant("token"), audience: fc.constant("vault"), expirationSeconds: fc.constant(3600) },
            { requiredKeys: ["path"] },
          ),
        }),
      ),
      { minLength: 1, maxLength: 2 },
    )
    .map((sources) => ({ projected: { sources } })),
)

/** `envFrom`, `volumes` and `volumeMounts` that name them (any subset). */
export const mounts = fc
  .uniqueArray(fc.tuple(fc.constantFrom("creds", "cache", "data", "certs"), volumeSource, fc.boolean(), fc.boolean()), {
    maxLength: 3,
    selector: ([volume]) => volume,
  })
  .chain((volumes) =>
    fc.record(
      {
        envFrom: fc.array(
          fc.oneof(
            fc.record({ secretRef: fc.record({ name: name(10) }) }),
            fc.record({
              configMapRef: fc.record({ name: name(10), optional: fc.boolean() }),
              prefix: fc.constant("APP_"),
            }),
          ),
          { maxLength: 2 },
        ),
        volumes: fc.constant(volumes.map(([volume, source]) => ({ name: volume, ...source }))),
        volumeMounts: fc.constant(
          volumes
            .filter(([, , mounted]) => mounted)
            .map(([volume, , , readOnly]) => ({ name: volume, mountPath: `/mnt/${volume}`, readOnly })),
        ),
      },
      { requiredKeys: [] },
    ),
  )
  .map(({ volumes, volumeMounts, ...rest }) =>
    // A mount needs its volume: mounts go only where their volumes went.
    volumes === undefined ? rest : { ...rest, volumes, ...(volumeMounts === undefined ? {} : { volumeMounts }) },
  )

export const serviceAccount = fc.oneof(
  fc.record({ name: name(20) }),
  fc.record({
    annotations: fc.dictionary(
      fc.constantFrom("eks.amazonaws.com/role-arn", "iam.gke.io/gcp-service-account"),
      fc.constantFrom("arn:aws:iam::123456789012:role/prefect", "flows@project.iam.gserviceaccount.com"),
      { minKeys: 1, maxKeys: 2 },
    ),
  }),
)

export const disruptionBudget = fc.record(
  { enabled: fc.boolean(), maxUnavailable: fc.integer({ min: 1, max: 3 }) },
  { requiredKeys: [] },
)

/** A `kubernetes` pool's flow-run Job settings; `resources` and `env` come from the caller's generators. */
export const jobTemplate = <R, E>(resources: fc.Arbitrary<R>, env: fc.Arbitrary<E>) =>
  fc.record(
    {
      image: fc.constantFrom("prefecthq/prefect:3.9.1-python3.12", "registry.example.com/flows:7"),
      env,
      envFrom: fc.array(fc.record({ secretRef: fc.record({ name: name(10) }) }), { maxLength: 2 }),
      resources,
      serviceAccountName: name(20),
      nodeSelector: labels(labelKey),
      tolerations: fc.array(toleration, { maxLength: 2 }),
      imagePullSecrets: fc.uniqueArray(name(10), { maxLength: 2 }),
      ttlSecondsAfterFinished: fc.integer({ min: 0, max: 86_400 }),
    },
    { requiredKeys: [] },
  )
