// Reads an OCI image archive as written by scripts/image/oci.mjs: its index, each platform's manifest and config,
// and (on request) each layer's entries, without unpacking anything to disk.
import { Readable } from "node:stream"
import { createGunzip, createZstdDecompress } from "node:zlib"
import type { Platform, RuntimeConfig } from "../../../scripts/image/oci.mjs"
import { readTar, readTarMember, type TarEntry } from "../../../scripts/image/tar.mjs"

interface Descriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly platform?: Platform
  readonly annotations?: Readonly<Record<string, string>>
}

export interface OciConfig extends Platform {
  readonly created: string
  readonly config: RuntimeConfig
  readonly rootfs: { readonly type: string; readonly diff_ids: ReadonlyArray<string> }
}

export interface ArchiveImage {
  readonly platform: string
  readonly manifestDigest: string
  readonly config: OciConfig
  readonly layers: ReadonlyArray<Descriptor>
}

export interface Archive {
  /** The annotations index.json gives the image (its names). */
  readonly annotations: Readonly<Record<string, string>>
  /** The digest the reference resolves to (a manifest, or the index of several platforms). */
  readonly digest: string
  readonly images: ReadonlyArray<ArchiveImage>
}

const blobPath = (digest: string) => `blobs/sha256/${digest.slice("sha256:".length)}`

const json = async <T>(file: string, path: string): Promise<T> => {
  const data = await readTarMember(file, path)
  if (data === undefined) throw new Error(`${file} has no ${path}`)
  return JSON.parse(data.toString("utf8")) as T
}

export const readArchive = async (file: string): Promise<Archive> => {
  const index = await json<{ manifests: ReadonlyArray<Descriptor> }>(file, "index.json")
  const [top] = index.manifests
  if (top === undefined || index.manifests.length !== 1) throw new Error(`${file}: index.json names one image`)
  const manifests =
    top.mediaType === "application/vnd.oci.image.index.v1+json"
      ? (await json<{ manifests: ReadonlyArray<Descriptor> }>(file, blobPath(top.digest))).manifests
      : [top]
  const images: Array<ArchiveImage> = []
  for (const descriptor of manifests) {
    const manifest = await json<{ config: Descriptor; layers: ReadonlyArray<Descriptor> }>(
      file,
      blobPath(descriptor.digest),
    )
    const config = await json<OciConfig>(file, blobPath(manifest.config.digest))
    const { architecture, os, variant } = config
    images.push({
      platform: [os, architecture, variant].filter(Boolean).join("/"),
      manifestDigest: descriptor.digest,
      config,
      layers: manifest.layers,
    })
  }
  return { annotations: top.annotations ?? {}, digest: top.digest, images }
}

/** The entries of one layer of the archive (their contents only for the paths `wantData` names). */
export const layerEntries = async (
  file: string,
  layer: Descriptor,
  wantData: (path: string) => boolean = () => false,
): Promise<Array<TarEntry>> => {
  const blob = await readTarMember(file, blobPath(layer.digest))
  if (blob === undefined) throw new Error(`${file} has no blob ${layer.digest}`)
  const source = Readable.from([blob])
  const stream = layer.mediaType.endsWith("+gzip")
    ? source.pipe(createGunzip())
    : layer.mediaType.endsWith("+zstd")
      ? source.pipe(createZstdDecompress())
      : source
  const entries: Array<TarEntry> = []
  for await (const entry of readTar(stream, wantData)) entries.push(entry)
  return entries
}
