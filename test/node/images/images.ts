/**
 * The images the node tests run, under the names the operator's planner emits (packages/schema/src/defaults.ts),
 * as containerd's CRI normalises them, so that planned manifests run unchanged with imagePullPolicy IfNotPresent.
 *
 * Each image is a chain of layers; each layer is a tree that a recipe script builds from its parent's tree (see
 * rootfs.sh). Layers that several images share (the Debian base, the Prefect base) are built once, so that their
 * blobs are identical and containerd stores and unpacks them once.
 */
import { Defaults } from "@cartographer/schema"
import { normalizeReference, type RuntimeConfig } from "../../../scripts/image/oci.mjs"

/** The OCI image config fields the recipes set (the names of the OCI image spec's `config`). */
export type ImageConfig = RuntimeConfig

export interface LayerRecipe {
  /** Names the layer in the cache and in the image's history. */
  readonly name: string
  /** The layer whose tree this one starts from (a copy of it); none: an empty tree. */
  readonly parent?: LayerRecipe
  /** The recipe script, relative to this directory; every file of its directory is an input of the layer. */
  readonly script: string
  /** Pins handed to the script as environment variables (inputs too). */
  readonly env?: Readonly<Record<string, string>>
  /** The Debian release whose packages the script installs (APT_SOURCES). */
  readonly suite?: string
}

export interface ImageRecipe {
  /** The fully qualified reference, as containerd names the imported image. */
  readonly reference: string
  /** Short name for `build-images.sh <name>…`. */
  readonly short: string
  /** The image's top layer; its parents are the layers below it. */
  readonly top: LayerRecipe
  readonly config: ImageConfig
}

/** The Prefect release of the planner's default image (`prefecthq/prefect:<release>-python…`). */
const defaultPrefectRelease = /:(\d+\.\d+\.\d+)-/u.exec(Defaults.defaultPrefectImage)?.[1] ?? ""

/** Pins of the Prefect images' Python packages: those of test/prefect/install.sh (a unit test keeps them equal). */
export const prefectPins = {
  prefect: defaultPrefectRelease,
  prefectRedis: "0.3.0",
  prefectKubernetes: "0.8.0",
  /** uv as the official image carries it (the one `bundles` extra of Prefect 3.9 asks for at least 0.13.4). */
  uv: "0.13.9",
}

/** The Debian release of the official postgres, redis and python:slim images (their `-trixie` variants). */
export const debianSuite = "trixie"
export const postgresMajor = "17"
/** The sandbox image containerd's CRI runs as each pod's first container (its `sandbox_image`). */
export const pauseReference = "registry.k8s.io/pause:3.10"

const debian: LayerRecipe = {
  name: `debian-${debianSuite}`,
  script: "debian/debian.sh",
  suite: debianSuite,
  env: { DEBIAN_SUITE: debianSuite },
}

interface PrefectPins {
  readonly prefect: string
  readonly prefectRedis: string
  readonly uv: string
}

/** The part both flavours share: Python, tini, git, uv and `prefect[redis]` (prefect/prefect.sh). */
const prefectBase = (pins: PrefectPins): LayerRecipe => ({
  name: `prefect-${pins.prefect}`,
  parent: debian,
  script: "prefect/prefect.sh",
  suite: debianSuite,
  env: {
    PREFECT_VERSION: pins.prefect,
    PREFECT_REDIS_VERSION: pins.prefectRedis,
    UV_VERSION: pins.uv,
  },
})

const prefect = prefectBase(prefectPins)

/** The official build's PREFECT_EXTRAS per flavour ("client" in the default one names no extra: uv skips it). */
const prefectFlavour = (
  flavour: string,
  extras: string,
  packages: string,
  pins: PrefectPins = prefectPins,
  base: LayerRecipe = prefect,
): LayerRecipe => ({
  name: `prefect-${pins.prefect}-${flavour}`,
  parent: base,
  script: "prefect/extras.sh",
  suite: debianSuite,
  env: {
    PREFECT_VERSION: pins.prefect,
    PREFECT_REDIS_VERSION: pins.prefectRedis,
    PREFECT_EXTRAS: extras,
    PACKAGES: packages,
  },
})

/**
 * The newest release of the previous Prefect minor line, for the upgrade and downgrade suites (ADR 0010). Its
 * `fastapi<1.0` lets a fresh install take a FastAPI its server cannot start with: the pin 3.9 itself carries.
 */
export const previousPrefectPins = { prefect: "3.8.8", prefectRedis: "0.2.15", uv: prefectPins.uv } as const
export const previousPrefectImage = `prefecthq/prefect:${previousPrefectPins.prefect}-python3.12`

/** python:slim's PATH (/usr/local/bin put first once more) and the official Prefect Dockerfile's ENV. */
const prefectConfig: ImageConfig = {
  Env: [
    "PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C.UTF-8",
    "LC_ALL=C.UTF-8",
    "UV_LINK_MODE=copy",
    "UV_SYSTEM_PYTHON=1",
    "LD_LIBRARY_PATH=/usr/local/lib",
  ],
  Entrypoint: ["/usr/bin/tini", "-g", "--", "/opt/prefect/entrypoint.sh"],
  WorkingDir: "/opt/prefect",
  Labels: { "io.prefect.python-version": "3.13" },
}

/** The node proof tests' image (a name under the reserved `.test` domain, so that nothing ever tries to pull it). */
export const toolboxReference = "cartographer.test/toolbox:1"

export const images: ReadonlyArray<ImageRecipe> = [
  {
    reference: pauseReference,
    short: "pause",
    top: { name: "pause", script: "pause/pause.sh" },
    // The upstream pause image's user: nobody's ids, no /etc needed.
    config: { User: "65535:65535", Entrypoint: ["/pause"] },
  },
  {
    reference: normalizeReference(Defaults.defaultPrefectImage),
    short: "prefect",
    top: prefectFlavour("default", "redis,client,otel", ""),
    config: prefectConfig,
  },
  {
    reference: normalizeReference(Defaults.defaultKubernetesWorkerImage),
    short: "prefect-kubernetes",
    top: prefectFlavour("kubernetes", "redis,kubernetes", `prefect-kubernetes==${prefectPins.prefectKubernetes}`),
    config: prefectConfig,
  },
  {
    reference: normalizeReference(previousPrefectImage),
    short: "prefect-previous",
    top: prefectFlavour(
      "default",
      "redis,client,otel",
      "fastapi<0.151",
      previousPrefectPins,
      prefectBase(previousPrefectPins),
    ),
    config: prefectConfig,
  },
  {
    reference: normalizeReference(Defaults.defaultPostgresImage),
    short: "postgres",
    top: {
      name: `postgres-${postgresMajor}`,
      parent: debian,
      script: "postgres/postgres.sh",
      suite: debianSuite,
      env: { PG_MAJOR: postgresMajor },
    },
    config: {
      Env: [
        `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/${postgresMajor}/bin`,
        "LANG=en_US.utf8",
        `PG_MAJOR=${postgresMajor}`,
        "PGDATA=/var/lib/postgresql/data",
      ],
      Entrypoint: ["docker-entrypoint.sh"],
      Cmd: ["postgres"],
      ExposedPorts: { "5432/tcp": {} },
      Volumes: { "/var/lib/postgresql/data": {} },
      StopSignal: "SIGINT",
    },
  },
  {
    reference: normalizeReference(Defaults.defaultRedisImage),
    short: "redis",
    top: { name: "redis", parent: debian, script: "redis/redis.sh", suite: debianSuite },
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Entrypoint: ["docker-entrypoint.sh"],
      Cmd: ["redis-server"],
      WorkingDir: "/data",
      ExposedPorts: { "6379/tcp": {} },
      Volumes: { "/data": {} },
    },
  },
  {
    // Not an image the operator plans: the node proof tests' shell, web server and clients (toolbox/toolbox.sh).
    reference: toolboxReference,
    short: "toolbox",
    top: { name: "toolbox", parent: debian, script: "toolbox/toolbox.sh", suite: debianSuite },
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
  },
]

/** The image's layers, bottom first. */
export const layersOf = (image: ImageRecipe): ReadonlyArray<LayerRecipe> => {
  const chain: Array<LayerRecipe> = []
  for (let layer: LayerRecipe | undefined = image.top; layer !== undefined; layer = layer.parent) chain.unshift(layer)
  return chain
}
