import type { Blob } from "./layer.mjs"

export declare const mediaTypes: { readonly manifest: string; readonly index: string; readonly config: string }

export interface Platform {
  readonly architecture: string
  readonly os: string
  readonly variant?: string
}

/** OCI image config runtime fields (the spec's names). */
export interface RuntimeConfig {
  readonly User?: string
  readonly Env?: ReadonlyArray<string>
  readonly Entrypoint?: ReadonlyArray<string>
  readonly Cmd?: ReadonlyArray<string>
  readonly WorkingDir?: string
  readonly ExposedPorts?: Readonly<Record<string, object>>
  readonly Volumes?: Readonly<Record<string, object>>
  readonly StopSignal?: string
  readonly Labels?: Readonly<Record<string, string>>
}

export interface ImageInput {
  readonly platform: Platform
  readonly config: RuntimeConfig
  readonly layers: ReadonlyArray<Blob & { readonly comment?: string }>
}

export declare const normalizeReference: (reference: string) => string
export declare const splitReference: (reference: string) => { name: string; tag: string }
export declare const platformOf: (architecture: string) => Platform
export declare const imageConfig: (input: ImageInput & { readonly created: string }) => object
export declare const writeOciArchive: (options: {
  readonly out: string
  readonly reference: string
  readonly images: ReadonlyArray<ImageInput>
  readonly created: string
  readonly annotations?: Readonly<Record<string, string>>
  /** The architecture of the image `docker load` gets: a Docker `manifest.json` naming it beside the OCI layout. */
  readonly dockerLoad?: string
}) => Promise<{ path: string; digest: string; size: number }>
