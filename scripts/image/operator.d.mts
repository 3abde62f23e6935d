import type { RuntimeConfig } from "./oci.mjs"

export declare const runtimeSuite: string
export declare const runtimePackages: ReadonlyArray<string>
export declare const operatorUser: number
export declare const operatorImageReference: () => Promise<string>
export declare const pinnedNodeVersion: () => Promise<string>
export declare const sourceRevision: () => Promise<{ revision: string; epoch: number }>
export declare const sourceUrl: () => Promise<string | undefined>
export declare const operatorLabels: (options: { readonly revision: string }) => Promise<Record<string, string>>
export declare const operatorConfig: (options: {
  readonly nodeVersion: string
  readonly labels: Readonly<Record<string, string>>
}) => RuntimeConfig
export declare const buildOperatorImage: (options: {
  readonly out: string
  readonly platforms?: ReadonlyArray<string>
  readonly bundleFile?: string
  readonly reference?: string
  readonly cacheDir?: string
  readonly log?: (line: string) => void
}) => Promise<{ path: string; digest: string; size: number; reference: string; platforms: ReadonlyArray<string> }>
export declare const operatorImageKey: (options: {
  readonly bundleFile: string
  readonly platforms: ReadonlyArray<string>
}) => Promise<string>
