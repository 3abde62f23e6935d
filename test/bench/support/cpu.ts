// CPU time per process from /proc (user + system), so that a phase can say where the machine's cores went: the API
// server, etcd, or the client (the bare client or the operator).
import { readFile } from "node:fs/promises"
import type { ControlPlane } from "@cartographer/test/harness"

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const ticksPerSecond = 100

export const cpuSecondsOf = async (pid: number): Promise<number> => {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  } catch {
    return 0
  }
}

export interface CpuSplit {
  readonly apiServer: number
  readonly etcd: number
  readonly client: number
}

/** A stopwatch of CPU seconds for the control plane's processes and a client (a pid, or this process). */
export const cpuStopwatch = async (controlPlane: ControlPlane, clientPid?: number) => {
  const pids = Object.fromEntries((await controlPlane.processStats()).map((p) => [p.name, p.pid]))
  const read = async (): Promise<CpuSplit> => ({
    apiServer: await cpuSecondsOf(pids["kube-apiserver"] ?? 0),
    etcd: await cpuSecondsOf(pids.etcd ?? 0),
    client:
      clientPid === undefined
        ? process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6
        : await cpuSecondsOf(clientPid),
  })
  const start = await read()
  return {
    /** CPU seconds used since the stopwatch started. */
    elapsed: async (): Promise<CpuSplit> => {
      const now = await read()
      const round = (x: number) => Math.round(x * 10) / 10
      return {
        apiServer: round(now.apiServer - start.apiServer),
        etcd: round(now.etcd - start.etcd),
        client: round(now.client - start.client),
      }
    },
  }
}
