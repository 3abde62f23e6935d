export declare const hostSources: (etc?: string) => Promise<Array<Record<string, string | undefined>>>
export declare const hostCodename: (osRelease?: string) => Promise<string | undefined>
export declare const debianSources: (
  suite: string,
  options?: { readonly etc?: string; readonly osRelease?: string },
) => Promise<Array<string>>
