import type { TarEntryInput } from "./tar.mjs"

export type Compression = "none" | "gzip" | "zstd"

export declare const layerMediaType: Readonly<Record<Compression, string>>

/** A blob's descriptor fields, its uncompressed tar's digest (diffId) and where it was written. */
export interface Blob {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly diffId: string
  readonly path: string
}

export interface LayerOptions {
  readonly parent?: string
  readonly epoch?: number
  readonly owner?: (path: string) => { readonly uid: number; readonly gid: number } | undefined
}

export declare function rootfsEntries(root: string, options?: LayerOptions): AsyncGenerator<TarEntryInput>
export declare const writeTarBlob: (
  chunks: AsyncIterable<Buffer>,
  out: string,
  options?: { readonly compression?: Compression },
) => Promise<Blob>
export declare const writeLayer: (
  root: string,
  out: string,
  options?: LayerOptions & { readonly compression?: Compression },
) => Promise<Blob>
