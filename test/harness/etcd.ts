// etcd for one control plane: single member on loopback, data in the run's temp dir, fsync off (the data is
// thrown away), spoken to over its v3 JSON gateway so the harness needs no etcdctl.
import { join } from "node:path"
import { freePort, pollUntil } from "./network.js"
import { launch, logTail, type ManagedProcess } from "./processes.js"

export interface Etcd {
  readonly url: string
  readonly process: ManagedProcess
  /** Writes a marker key outside the API server's prefix, then compacts up to that revision; resolves with it. */
  compact(): Promise<number>
}

const post = async (url: string, body: unknown): Promise<Record<string, unknown>> => {
  const response = await fetch(url, { method: "POST", body: JSON.stringify(body) })
  const text = await response.text()
  if (!response.ok) throw new Error(`etcd ${url}: ${response.status} ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

export const startEtcd = async (binary: string, dir: string, timeoutMs: number): Promise<Etcd> => {
  const [clientPort, peerPort] = [await freePort(), await freePort()]
  const url = `http://127.0.0.1:${clientPort}`
  const peer = `http://127.0.0.1:${peerPort}`
  const logPath = join(dir, "etcd.log")
  const process = launch(
    "etcd",
    binary,
    [
      "--name=cartographer-test",
      `--data-dir=${join(dir, "etcd-data")}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=cartographer-test=${peer}`,
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ],
    logPath,
  )
  await pollUntil(
    "etcd /health",
    async () => {
      const response = await fetch(`${url}/health`)
      const body = (await response.json()) as { health?: string }
      return body.health === "true" ? true : undefined
    },
    {
      timeoutMs,
      describe: () => logTail(logPath),
      abort: () => (process.running() ? undefined : `etcd exited (${process.status()})`),
    },
  )
  const compact = async () => {
    // A write outside the API server's prefix first, so that the compaction passes every revision a client has seen:
    // a watch that had caught up with the last write could otherwise resume from exactly the compacted revision,
    // which etcd still serves (seen on a loaded machine, where the writers of a test fell behind its watch).
    const marker = { key: Buffer.from("/cartographer-test/compaction").toString("base64"), value: "" }
    const put = await post(`${url}/v3/kv/put`, marker)
    const revision = Number((put.header as { revision?: string } | undefined)?.revision)
    if (!Number.isSafeInteger(revision) || revision <= 0) throw new Error(`etcd: no revision in ${JSON.stringify(put)}`)
    await post(`${url}/v3/kv/compaction`, { revision: String(revision), physical: true })
    return revision
  }
  return { url, process, compact }
}
