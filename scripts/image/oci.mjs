// OCI image config, manifest and index for layers written by layer.mjs, packed as an OCI image archive: an OCI image
// layout (oci-layout, index.json, blobs/sha256/…) in one tar, as `ctr images import`, `skopeo copy oci-archive:…`
// and `docker load` (25+) read it.
//
// The archive's index.json names the image twice: `io.containerd.image.name` with the full reference (what
// containerd's import takes as the image's name) and `org.opencontainers.image.ref.name` with the tag alone (what
// the OCI layout specification defines, and what skopeo and oras read).
//
// With `dockerLoad`, the archive also carries a `manifest.json` naming one of its images: Docker's own image store
// (`docker load` without the containerd image store) reads only that file, one image per tag. containerd and skopeo
// read the OCI layout and ignore it.
import { createHash } from "node:crypto"
import { stat } from "node:fs/promises"
import { writeTarBlob } from "./layer.mjs"
import { TarType, tarChunks } from "./tar.mjs"

export const mediaTypes = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
}

/** The JSON bytes of a document and its descriptor. */
const blob = (mediaType, document) => {
  const data = Buffer.from(JSON.stringify(document))
  return {
    data,
    descriptor: { mediaType, digest: `sha256:${createHash("sha256").update(data).digest("hex")}`, size: data.length },
  }
}

/**
 * A reference as containerd's CRI and the kubelet resolve it: `postgres:17.6` → `docker.io/library/postgres:17.6`,
 * `prefecthq/prefect:3` → `docker.io/prefecthq/prefect:3`; one whose first part names a host stays as it is.
 */
export const normalizeReference = (reference) => {
  const first = reference.split("/")[0]
  const hasRegistry = reference.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")
  if (hasRegistry) return reference
  return reference.includes("/") ? `docker.io/${reference}` : `docker.io/library/${reference}`
}

/** `docker.io/library/postgres:17.6` → { name: "docker.io/library/postgres", tag: "17.6" }. */
export const splitReference = (reference) => {
  const colon = reference.lastIndexOf(":")
  if (colon <= reference.lastIndexOf("/")) throw new Error(`${reference}: an image reference with a tag is needed`)
  return { name: reference.slice(0, colon), tag: reference.slice(colon + 1) }
}

/** Debian/Go architecture names → the OCI platform of an image for it. */
export const platformOf = (architecture) =>
  architecture === "arm64" ? { architecture: "arm64", os: "linux", variant: "v8" } : { architecture, os: "linux" }

const withoutEmpty = (object) =>
  Object.fromEntries(
    Object.entries(object).filter(
      ([, v]) =>
        v !== undefined &&
        !(Array.isArray(v) && v.length === 0) &&
        !(typeof v === "object" && v !== null && Object.keys(v).length === 0),
    ),
  )

/**
 * The image config document. `config` holds the runtime settings with the OCI field names (User, Env, Entrypoint,
 * Cmd, WorkingDir, ExposedPorts, Volumes, Labels, StopSignal); `layers` carry a `comment` for the history.
 */
export const imageConfig = ({ platform, config, layers, created }) => ({
  created,
  ...platform,
  config: withoutEmpty({
    User: config.User,
    ExposedPorts: config.ExposedPorts,
    Env: config.Env,
    Entrypoint: config.Entrypoint,
    Cmd: config.Cmd,
    Volumes: config.Volumes,
    WorkingDir: config.WorkingDir,
    Labels: config.Labels,
    StopSignal: config.StopSignal,
  }),
  rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
  history: layers.map((l) => withoutEmpty({ created, created_by: l.comment ?? "cartographer image builder" })),
})

/**
 * Writes an OCI image archive to `out` (under a temporary name, renamed when complete: never seen half-written) and resolves with
 * `{ path, digest, size }`, `digest` being that of what the reference names (the manifest, or the index of several
 * platforms). `images`: `[{ platform, config, layers }]` with layers as writeLayer returned them.
 * `created`: the creation time (ISO 8601) written into configs; fix it for reproducible output.
 * `dockerLoad`: the architecture of the image that `docker load` gets, tagged `reference` (see above).
 */
export const writeOciArchive = async ({ out, reference, images, created, annotations = {}, dockerLoad }) => {
  const { tag } = splitReference(reference)
  const blobs = new Map()
  const addJson = (mediaType, document) => {
    const { data, descriptor } = blob(mediaType, document)
    blobs.set(descriptor.digest, { data })
    return descriptor
  }
  const manifests = images.map(({ platform, config, layers }) => {
    for (const layer of layers) blobs.set(layer.digest, { source: layer.path, size: layer.size })
    const configDescriptor = addJson(mediaTypes.config, imageConfig({ platform, config, layers, created }))
    const manifest = addJson(
      mediaTypes.manifest,
      withoutEmpty({
        schemaVersion: 2,
        mediaType: mediaTypes.manifest,
        config: configDescriptor,
        layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
        annotations,
      }),
    )
    return { ...manifest, platform, configDescriptor, layers }
  })
  const blobPath = (digest) => `blobs/sha256/${digest.slice("sha256:".length)}`
  const docker = manifests.find((m) => m.platform.architecture === dockerLoad)
  if (dockerLoad !== undefined && docker === undefined) throw new Error(`dockerLoad: no image for ${dockerLoad}`)
  const dockerManifest = docker && [
    {
      Config: blobPath(docker.configDescriptor.digest),
      RepoTags: [reference],
      Layers: docker.layers.map((l) => blobPath(l.digest)),
    },
  ]
  const descriptor = ({ mediaType, digest, size, platform }) => ({ mediaType, digest, size, platform })
  const top =
    manifests.length === 1
      ? manifests[0]
      : addJson(
          mediaTypes.index,
          withoutEmpty({
            schemaVersion: 2,
            mediaType: mediaTypes.index,
            manifests: manifests.map(descriptor),
            annotations,
          }),
        )
  const index = {
    schemaVersion: 2,
    mediaType: mediaTypes.index,
    manifests: [
      {
        ...(manifests.length === 1 ? descriptor(top) : top),
        annotations: { "io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag },
      },
    ],
  }
  const file = (path, data) => ({
    path,
    type: TarType.file,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: data.length,
    data,
  })
  const dir = (path) => ({ path, type: TarType.dir, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 })
  const entries = [
    dir("blobs/"),
    dir("blobs/sha256/"),
    ...[...blobs.keys()].sort().map((digest) => {
      const { data, source, size } = blobs.get(digest)
      const path = blobPath(digest)
      return data !== undefined
        ? file(path, data)
        : { path, type: TarType.file, mode: 0o644, uid: 0, gid: 0, mtime: 0, size, source }
    }),
    file("index.json", Buffer.from(JSON.stringify(index))),
    ...(dockerManifest === undefined ? [] : [file("manifest.json", Buffer.from(JSON.stringify(dockerManifest)))]),
    file("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" }))),
  ]
  await writeTarBlob(tarChunks(entries), out, { compression: "none" })
  return { path: out, digest: top.digest, size: (await stat(out)).size }
}
