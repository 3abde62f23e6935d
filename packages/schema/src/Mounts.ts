/**
 * Configuration a team brings to the server's and workers' containers: `envFrom` (every key of a Secret or
 * ConfigMap as variables), extra `volumes` and the `volumeMounts` that put them in the container.
 *
 * Volumes are limited to the sources the restricted Pod Security profile admits and a Workspace's pods must pass:
 * secret, configMap, emptyDir, persistentVolumeClaim, csi and projected (secret, configMap and service account
 * token sources). Cartographer's own volumes and mount paths (`cartographerVolumes`) cannot be taken over.
 */
import { Schema } from "effect"
import { celFilter, uniqueBy } from "./cel.js"
import { dns1123LabelPattern, maxLabelLength } from "./nameRules.js"
import { QuantityString } from "./Quantity.js"
import { bounded, SubdomainName } from "./Scheduling.js"

/**
 * The volumes Cartographer mounts into Prefect containers (writable scratch under a read-only root): their names and
 * mount paths are refused in a Workspace's `volumes` and `volumeMounts`. The planner mounts exactly these.
 */
export const cartographerVolumes = {
  home: { name: "home", mountPath: "/home/prefect" },
  tmp: { name: "tmp", mountPath: "/tmp" },
  prefectHome: { name: "prefect-home", mountPath: "/var/lib/prefect" },
  uiBuild: { name: "ui-build", mountPath: "/ui_build" },
  // A pool's EXTRA_PIP_PACKAGES, installed by an init container (the planner's `extraPackages.ts`).
  extraPackages: { name: "extra-packages", mountPath: "/opt/cartographer/extra-packages" },
} as const
const celList = (items: ReadonlyArray<string>) => `[${items.map((i) => `'${i}'`).join(", ")}]`

/**
 * Refuses the items of a `volumes` or `volumeMounts` list whose `field` holds what one of `cartographerVolumes` holds
 * there: `issue` at that item's field; `message`, given those values, from its CEL twin, whose rule calls an item
 * `variable`.
 */
const noneReserved = <A extends Readonly<Record<Field, string>>, Field extends "name" | "mountPath">(
  field: Field,
  variable: string,
  text: { readonly issue: (value: string) => string; readonly message: (reserved: string) => string },
) => {
  const reserved: ReadonlyArray<string> = Object.values(cartographerVolumes).map((volume) => volume[field])
  return celFilter(
    (items: ReadonlyArray<A>) =>
      items.flatMap((item, index) =>
        reserved.includes(item[field]) ? [{ path: [index, field], issue: text.issue(item[field]) }] : [],
      ),
    [
      {
        rule: `self.all(${variable}, !(${variable}.${field} in ${celList(reserved)}))`,
        message: text.message(reserved.join(", ")),
      },
    ],
  )
}

/** A path inside a volume: relative, without `..` segments (written without look-arounds, which RE2 lacks). */
const segment = "([^/.][^/]*|\\.([^/.][^/]*)?|\\.\\.[^/]+)"
const RelativePath = Schema.String.check(
  Schema.isMaxLength(1024, { message: "must be at most 1024 characters" }),
  Schema.isPattern(new RegExp(`^${segment}(/${segment})*$`, "u"), {
    message: "must be a relative path without '..' segments, such as config/app.yaml",
  }),
)

const Mode = Schema.Int.annotate({
  description: "File mode bits, 0 to 0777 (a decimal number in JSON: 0644 is 420).",
}).check(
  Schema.isGreaterThanOrEqualTo(0, { message: "must be a file mode between 0 and 0777 (511)" }),
  Schema.isLessThanOrEqualTo(511, { message: "must be a file mode between 0 and 0777 (511)" }),
)

const KeyToPath = Schema.Struct({
  key: Schema.String.check(Schema.isMinLength(1, { message: "must not be empty" })).annotate({
    description: "Key of the Secret or ConfigMap.",
  }),
  path: RelativePath.annotate({ description: "File it becomes, relative to the mount." }),
  mode: Schema.optionalKey(Mode),
}).annotate({ description: "One key of a Secret or ConfigMap, as a file." })

const Items = bounded(KeyToPath, "Keys to project (all keys when absent).")

const optional = (what: string) =>
  Schema.optionalKey(Schema.Boolean).annotate({ description: `Start the container even when the ${what} is missing.` })

const nameOf = (what: string) => SubdomainName.annotate({ description: `Name of the ${what} in the pod's namespace.` })

const ObjectReference = (what: string) =>
  Schema.Struct({ name: nameOf(what), optional: optional(what) }).annotate({ description: `A ${what}.` })

/** The keys of exactly one of `secretRef` or `configMapRef` as environment variables. */
export const EnvFromSource = Schema.Struct({
  secretRef: Schema.optionalKey(ObjectReference("Secret")),
  configMapRef: Schema.optionalKey(ObjectReference("ConfigMap")),
  prefix: Schema.optionalKey(
    Schema.String.check(
      Schema.isPattern(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/u, {
        message: "must be the start of an environment variable name: letters, digits, '_', '-' or '.'",
      }),
    ),
  ).annotate({ description: "Prepended to every variable name." }),
})
  .annotate({
    description:
      "Every key of a Secret or ConfigMap as an environment variable. Variables Cartographer sets (and `env`) win " +
      "over a key of the same name.",
  })
  .check(
    celFilter(
      (e) =>
        (e.secretRef === undefined) === (e.configMapRef === undefined)
          ? "must set exactly one of secretRef or configMapRef"
          : undefined,
      [
        {
          rule: "has(self.secretRef) != has(self.configMapRef)",
          message: "must set exactly one of secretRef or configMapRef",
        },
      ],
    ),
  )
export type EnvFromSource = typeof EnvFromSource.Type

export const EnvFrom = bounded(EnvFromSource, "Secrets and ConfigMaps whose keys become environment variables.")

/** The keys of a Secret or ConfigMap as files (a projected source: no mode of its own). */
const keysOf = (what: string) =>
  Schema.Struct({ name: nameOf(what), items: Schema.optionalKey(Items), optional: optional(what) }).annotate({
    description: `The keys of a ${what} as files.`,
  })

const ProjectedSource = Schema.Struct({
  secret: Schema.optionalKey(keysOf("Secret")),
  configMap: Schema.optionalKey(keysOf("ConfigMap")),
  serviceAccountToken: Schema.optionalKey(
    Schema.Struct({
      path: RelativePath.annotate({ description: "File the token is written to." }),
      audience: Schema.optionalKey(Schema.String).annotate({ description: "Audience of the token (e.g. vault)." }),
      expirationSeconds: Schema.optionalKey(
        Schema.Int.annotate({ description: "Lifetime of the token; the kubelet renews it." }).check(
          Schema.isGreaterThanOrEqualTo(600, { message: "must be at least 600 (10 minutes)" }),
        ),
      ),
    }).annotate({ description: "A token of the pod's ServiceAccount for another audience (workload identity)." }),
  ),
})
  .annotate({ description: "One source of a projected volume: exactly one of secret, configMap, serviceAccountToken." })
  .check(
    celFilter(
      (s) =>
        [s.secret, s.configMap, s.serviceAccountToken].filter((x) => x !== undefined).length === 1
          ? undefined
          : "must set exactly one of secret, configMap or serviceAccountToken",
      [
        {
          rule: "(has(self.secret) ? 1 : 0) + (has(self.configMap) ? 1 : 0) + (has(self.serviceAccountToken) ? 1 : 0) == 1",
          message: "must set exactly one of secret, configMap or serviceAccountToken",
        },
      ],
    ),
  )

const volumeSources = ["secret", "configMap", "emptyDir", "persistentVolumeClaim", "csi", "projected"] as const

const readOnly = Schema.optionalKey(Schema.Boolean).annotate({ description: "Mount it read-only." })

export const Volume = Schema.Struct({
  name: Schema.String.check(
    Schema.isMaxLength(maxLabelLength, { message: "must be at most 63 characters" }),
    Schema.isPattern(dns1123LabelPattern, { message: "must be a DNS-1123 label such as credentials" }),
  ).annotate({ description: "Name of the volume, referred to by `volumeMounts`." }),
  secret: Schema.optionalKey(
    Schema.Struct({
      secretName: nameOf("Secret"),
      items: Schema.optionalKey(Items),
      defaultMode: Schema.optionalKey(Mode),
      optional: optional("Secret"),
    }).annotate({ description: "The keys of a Secret as files." }),
  ),
  configMap: Schema.optionalKey(
    Schema.Struct({
      name: nameOf("ConfigMap"),
      items: Schema.optionalKey(Items),
      defaultMode: Schema.optionalKey(Mode),
      optional: optional("ConfigMap"),
    }).annotate({ description: "The keys of a ConfigMap as files." }),
  ),
  emptyDir: Schema.optionalKey(
    Schema.Struct({
      medium: Schema.optionalKey(
        Schema.Literals(["", "Memory"]).annotate({ description: "`Memory` for a tmpfs; the node's disk otherwise." }),
      ),
      // Text only (`1Gi`): a transformation below a filter would keep the filter's CEL twin out of the CRD.
      sizeLimit: Schema.optionalKey(
        QuantityString.annotate({ description: "Most the volume may hold, a quantity such as 1Gi." }),
      ),
    }).annotate({ description: "Scratch space that lives as long as the pod." }),
  ),
  persistentVolumeClaim: Schema.optionalKey(
    Schema.Struct({ claimName: nameOf("PersistentVolumeClaim"), readOnly }).annotate({
      description: "An existing PersistentVolumeClaim in the pod's namespace.",
    }),
  ),
  csi: Schema.optionalKey(
    Schema.Struct({
      driver: SubdomainName.annotate({ description: "CSI driver, e.g. secrets-store.csi.k8s.io." }),
      readOnly,
      fsType: Schema.optionalKey(Schema.String).annotate({ description: "Filesystem type, if the driver asks." }),
      volumeAttributes: Schema.optionalKey(
        Schema.Record(Schema.String, Schema.String).annotate({ description: "Driver-specific attributes." }),
      ),
      nodePublishSecretRef: Schema.optionalKey(
        Schema.Struct({ name: nameOf("Secret") }).annotate({
          description: "A Secret the driver needs to mount the volume.",
        }),
      ),
    }).annotate({ description: "An inline CSI volume (e.g. the Secrets Store CSI driver)." }),
  ),
  projected: Schema.optionalKey(
    Schema.Struct({
      sources: bounded(ProjectedSource, "What the volume holds.").check(
        Schema.isMinLength(1, { message: "must list at least one source" }),
      ),
      defaultMode: Schema.optionalKey(Mode),
    }).annotate({ description: "Several sources in one directory." }),
  ),
})
  .annotate({
    description:
      "A volume for the pod: exactly one of secret, configMap, emptyDir, persistentVolumeClaim, csi or projected " +
      "(the sources the restricted Pod Security profile admits).",
  })
  .check(
    celFilter(
      (v) =>
        volumeSources.filter((source) => v[source] !== undefined).length === 1
          ? undefined
          : `must set exactly one of ${volumeSources.join(", ")}`,
      [
        {
          rule: `${volumeSources.map((s) => `(has(self.${s}) ? 1 : 0)`).join(" + ")} == 1`,
          message: `must set exactly one of ${volumeSources.join(", ")}`,
        },
      ],
    ),
  )
export type Volume = typeof Volume.Type

export const VolumeMount = Schema.Struct({
  name: Schema.String.check(Schema.isMaxLength(maxLabelLength, { message: "must be at most 63 characters" })).annotate({
    description: "Name of a volume in `volumes`.",
  }),
  mountPath: Schema.String.check(
    Schema.isMaxLength(1024, { message: "must be at most 1024 characters" }),
    Schema.isPattern(/^(\/[^/]+)+$/u, {
      message: "must be an absolute path without a trailing '/', such as /etc/credentials",
    }),
  ).annotate({ description: "Where the volume appears in the container." }),
  subPath: Schema.optionalKey(RelativePath.annotate({ description: "A path inside the volume to mount instead." })),
  readOnly,
}).annotate({ description: "Where a volume is mounted in the container." })
export type VolumeMount = typeof VolumeMount.Type

/** The `envFrom`, `volumes` and `volumeMounts` of the server or a pool, spread into its struct. */
export const mountFields = {
  envFrom: Schema.optionalKey(EnvFrom),
  volumes: Schema.optionalKey(
    bounded(Volume, "Extra volumes of the pods, mounted with `volumeMounts`.").check(
      uniqueBy(["name"], "volume name"),
      noneReserved<Volume, "name">("name", "v", {
        issue: (name) => `"${name}" is the name of a volume Cartographer mounts; choose another`,
        message: (names) => `volume names ${names} are Cartographer's own; choose another`,
      }),
    ),
  ),
  volumeMounts: Schema.optionalKey(
    bounded(VolumeMount, "Where the container mounts `volumes`; each names one of them.").check(
      uniqueBy(["mountPath"], "mount path"),
      noneReserved<VolumeMount, "mountPath">("mountPath", "m", {
        issue: (path) => `Cartographer mounts its own volume at ${path}; mount below it or elsewhere`,
        message: (paths) => `${paths} are Cartographer's own mounts; mount below them or elsewhere`,
      }),
    ),
  ),
}

interface Mounting {
  readonly volumes?: ReadonlyArray<Volume>
  readonly volumeMounts?: ReadonlyArray<VolumeMount>
}

/**
 * Each mount names a volume of the same component. `field` names the component when the filter sits on its parent:
 * the server's struct has decoding defaults, and the CEL twin of a filter on such a struct would not reach the CRD.
 */
export const mountsNameVolumes = <A>(field?: string & keyof A) => {
  const self = field === undefined ? "self" : `self.${field}`
  return celFilter(
    (value: A) => {
      const c = (field === undefined ? value : value[field]) as Mounting | undefined
      const names = new Set((c?.volumes ?? []).map((v) => v.name))
      return (c?.volumeMounts ?? []).flatMap((m, index) =>
        names.has(m.name)
          ? []
          : [
              {
                path: [...(field === undefined ? [] : [field]), "volumeMounts", index, "name"],
                issue: `names no volume of this component's volumes: add "${m.name}" there`,
              },
            ],
      )
    },
    [
      {
        rule:
          `${field === undefined ? "" : `!has(${self}) || `}!has(${self}.volumeMounts) || ` +
          `${self}.volumeMounts.all(m, has(${self}.volumes) && ${self}.volumes.exists(v, v.name == m.name))`,
        message: "every volumeMount must name one of the component's volumes",
        fieldPath: `${field === undefined ? "" : `.${field}`}.volumeMounts`,
      },
    ],
  )
}
