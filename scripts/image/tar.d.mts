export declare const TarType: {
  readonly file: "0"
  readonly hardlink: "1"
  readonly symlink: "2"
  readonly char: "3"
  readonly block: "4"
  readonly dir: "5"
  readonly fifo: "6"
  readonly pax: "x"
}

/** What a header says of an entry. */
interface TarHeader {
  readonly path: string
  readonly type: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly size: number
  readonly mtime: number
}

/** An entry to write: its content is `data`, or the file `source` (read when its turn comes). */
export interface TarEntryInput extends TarHeader {
  readonly linkname?: string
  readonly devmajor?: number
  readonly devminor?: number
  readonly data?: Buffer
  readonly source?: string
}

/** An entry read; `data` only when it was asked for. */
export interface TarEntry extends TarHeader {
  readonly linkname: string
  readonly uname: string
  readonly gname: string
  /** The pax extended header records that applied to this entry (atime, ctime… if a writer put them there). */
  readonly pax: Readonly<Record<string, string>>
  readonly data?: Buffer
}

export declare const entryHeader: (entry: TarEntryInput) => Array<Buffer>
export declare function tarChunks(
  entries: Iterable<TarEntryInput> | AsyncIterable<TarEntryInput>,
): AsyncGenerator<Buffer>
export declare function readTar(
  input: string | AsyncIterable<Buffer>,
  wantData?: (path: string) => boolean,
): AsyncGenerator<TarEntry>
export declare const readTarMember: (file: string, path: string) => Promise<Buffer | undefined>
export declare const readHead: (file: string, length: number) => Promise<Buffer>
