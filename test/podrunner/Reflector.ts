// List-then-watch of one collection into a map, as a kubelet's informers do: relists when the watch's
// resourceVersion expired (410), reconnects when the server ends the connection, and reports every change.
import type { KubeApi } from "../harness/kubeApi.js"

interface Meta {
  readonly metadata?: { readonly namespace?: string; readonly name?: string; readonly resourceVersion?: string }
}

export interface Reflector<A> {
  readonly items: ReadonlyMap<string, A>
  /** Resolves after the first list has been delivered. */
  readonly synced: Promise<void>
  stop(): void
}

export const keyOf = (o: Meta) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const reflect = <A extends Meta>(
  api: KubeApi,
  path: string,
  query: Record<string, string>,
  onChange: (type: "ADDED" | "MODIFIED" | "DELETED", object: A) => void,
  onError: (error: unknown) => void = () => undefined,
): Reflector<A> => {
  const items = new Map<string, A>()
  const abort = new AbortController()
  let markSynced: () => void = () => undefined
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve
  })

  const relist = async () => {
    const list = await api.get<{ items: Array<A>; metadata: { resourceVersion: string } }>(
      `${path}?${new URLSearchParams(query)}`,
    )
    const seen = new Set<string>()
    for (const item of list.items) {
      const key = keyOf(item)
      seen.add(key)
      const type = items.has(key) ? "MODIFIED" : "ADDED"
      items.set(key, item)
      onChange(type, item)
    }
    for (const [key, item] of items) {
      if (!seen.has(key)) {
        items.delete(key)
        onChange("DELETED", item)
      }
    }
    return list.metadata.resourceVersion
  }

  const loop = async () => {
    let resourceVersion: string | undefined
    while (!abort.signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await relist()
          markSynced()
        }
        for await (const event of api.watch<A>(
          path,
          { ...query, resourceVersion, timeoutSeconds: "300" },
          abort.signal,
        )) {
          if (event.type === "ERROR") {
            // 410 Gone: the version is too old; anything else: start over the same way.
            resourceVersion = undefined
            break
          }
          resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion
          if (event.type === "BOOKMARK") continue
          const key = keyOf(event.object)
          if (event.type === "DELETED") items.delete(key)
          else items.set(key, event.object)
          onChange(event.type, event.object)
        }
      } catch (error) {
        if (abort.signal.aborted) return
        onError(error)
        resourceVersion = undefined
        await sleep(1_000)
      }
    }
  }
  void loop()
  return { items, synced, stop: () => abort.abort() }
}
