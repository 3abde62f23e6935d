// Which container images the runner can play, and what their image would have provided: the directories its
// PATH starts with, its working directory, and what its ENTRYPOINT does when the container sets no `command`.
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"

/** How a container of this image is started. */
export type Entrypoint =
  /** prefecthq/prefect: `tini -g -- /opt/prefect/entrypoint.sh "$@"` (installs EXTRA_PIP_PACKAGES, then exec). */
  | "prefect"
  /** postgres: `docker-entrypoint.sh postgres` (initialises PGDATA from POSTGRES_* on first start). */
  | "postgres"
  /** The operator's own image (the repository's Dockerfile): `node /app/cartographer.mjs "$@"`, CMD `run`. */
  | "cartographer"

export interface LocalImage {
  readonly image: string
  readonly entrypoint: Entrypoint
  /** Prepended to the standard PATH. */
  readonly path: ReadonlyArray<string>
  /** The image's CMD, used when the container has neither `command` nor `args`. */
  readonly defaultArgs: ReadonlyArray<string>
  /** What the status reports as `imageID`. */
  readonly imageId: string
  /** The image's ENTRYPOINT as a local command line, run before the args when the container has no `command`. */
  readonly entrypointArgv?: ReadonlyArray<string>
}

export interface ImageSources {
  /** The pinned Prefect venv (see test/prefect), and its version. */
  readonly prefect?: { readonly venv: string; readonly version: string }
  /** Debian's PostgreSQL server binaries, e.g. /usr/lib/postgresql/15/bin. */
  readonly postgresBin?: string
  /** How to start the operator from this checkout (`cartographer` images), e.g. node run-ts.mjs main.ts. */
  readonly operator?: { readonly entrypoint: ReadonlyArray<string> }
}

export type ImageLookup =
  | { readonly ok: true; readonly image: LocalImage }
  | { readonly ok: false; readonly reason: string }

/** `docker.io/library/postgres:17@sha256:…` → { repository: "postgres", tag: "17" }. */
export const parseImage = (image: string): { readonly repository: string; readonly tag: string } => {
  const withoutDigest = image.split("@")[0] ?? image
  const slash = withoutDigest.lastIndexOf("/")
  const colon = withoutDigest.lastIndexOf(":")
  const hasTag = colon > slash
  let repository = hasTag ? withoutDigest.slice(0, colon) : withoutDigest
  const tag = hasTag ? withoutDigest.slice(colon + 1) : "latest"
  repository = repository.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//u, "")
  repository = repository.replace(/^library\//u, "")
  return { repository, tag }
}

/** The newest Debian PostgreSQL server installed (postgresql-NN), if any. */
export const findPostgresBin = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/u.test(v) && existsSync(join(root, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin")
}

const prefectTag = /^(\d+\.\d+\.\d+)(?:-python(\d+\.\d+))?(-kubernetes|-conda)?$/u

export const lookupImage = (image: string, sources: ImageSources): ImageLookup => {
  const { repository, tag } = parseImage(image)
  if (repository === "prefecthq/prefect") {
    const match = prefectTag.exec(tag)
    const known = sources.prefect
    if (!known) return { ok: false, reason: `image ${image}: the runner was started without a Prefect venv` }
    if (!match || match[1] !== known.version || match[3] === "-conda") {
      return {
        ok: false,
        reason:
          `image ${image} is not known to the local pod runner: it plays prefecthq/prefect:${known.version}-python3.X ` +
          `and its -kubernetes flavor (test/prefect/install.sh pins Prefect ${known.version})`,
      }
    }
    return {
      ok: true,
      image: {
        image,
        entrypoint: "prefect",
        path: [join(known.venv, "bin")],
        defaultArgs: ["bash", "-l"],
        imageId: `local://${known.venv}`,
      },
    }
  }
  if (repository === "postgres") {
    if (!sources.postgresBin) {
      return {
        ok: false,
        reason: `image ${image}: no PostgreSQL server is installed (Debian: apt-get install postgresql)`,
      }
    }
    return {
      ok: true,
      image: {
        image,
        entrypoint: "postgres",
        path: [sources.postgresBin],
        defaultArgs: ["postgres"],
        imageId: `local://${sources.postgresBin}`,
      },
    }
  }
  if (repository === "cartographer" || repository.endsWith("/cartographer")) {
    if (!sources.operator) {
      return { ok: false, reason: `image ${image}: the runner was not told how to start the operator` }
    }
    return {
      ok: true,
      image: {
        image,
        entrypoint: "cartographer",
        path: [],
        defaultArgs: ["run"],
        imageId: "local://cartographer-from-sources",
        entrypointArgv: sources.operator.entrypoint,
      },
    }
  }
  return {
    ok: false,
    reason:
      `image ${image} is not known to the local pod runner (it plays prefecthq/prefect:` +
      `${sources.prefect?.version ?? "<version>"}-… with a local Prefect venv and postgres:… with Debian's PostgreSQL)`,
  }
}
