// What an e2e suite of a Workspace on the real node polls with: `until` (a poll that, when it gives up, prints the
// suite's logs) and the Workspace's Prefect server as the host reaches it (a Ready pod behind its Service).
import { type KubeApi, pollUntil } from "../harness/index.js"
import { serviceUrl } from "./cluster.js"
import { prefectApi } from "./prefect.js"

export const minutes = (n: number) => n * 60_000

export const workspacePolling = (options: {
  readonly api: () => KubeApi
  readonly namespace: string
  readonly workspace: string
  /** What the suite prints when a poll gives up: pods, events, the operator's log. */
  readonly logs: () => Promise<string>
}) => {
  const until = <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = minutes(6)) =>
    pollUntil(what, check, { timeoutMs, intervalMs: 2_000, describe: () => "(see the logs above)" }).catch(
      async (error: Error) => {
        throw new Error(`${error.message}\n${await options.logs()}`)
      },
    )
  const serverUrl = () =>
    until("the server Service has a Ready endpoint", () =>
      serviceUrl(options.api(), options.namespace, `${options.workspace}-orion-server`, "http-orion"),
    )
  const server = async () => prefectApi(await serverUrl())
  return { until, serverUrl, server }
}
