// The facts a benchmark figure means nothing without: the machine, the runtimes and the control plane's versions.
import { readFileSync } from "node:fs"
import { availableParallelism, cpus, loadavg, release, totalmem } from "node:os"
import type { RawApi } from "./rawApi.js"

export interface MachineFacts {
  readonly cpuModel: string
  readonly cores: number
  readonly memoryGiB: number
  readonly os: string
  readonly kernel: string
  readonly node: string
  readonly kubernetes: string
  readonly etcd: string
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  readonly loadAverageAtStart: number
}

const osName = (): string => {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/mu.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "unknown"
  } catch {
    return "unknown"
  }
}

export const machineFacts = async (api: RawApi, etcdUrl: string): Promise<MachineFacts> => {
  const version = await api.send({ method: "GET", path: "/version" })
  const kubernetes = (JSON.parse(version.body) as { gitVersion?: string }).gitVersion ?? "unknown"
  const etcd = await fetch(`${etcdUrl}/version`)
    .then((r) => r.json() as Promise<{ etcdserver?: string }>)
    .then((v) => v.etcdserver ?? "unknown")
    .catch(() => "unknown")
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    kernel: release(),
    node: process.version,
    kubernetes,
    etcd,
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  }
}
