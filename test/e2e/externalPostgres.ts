// A PostgreSQL of a team's own, outside any Workspace, for the suites that run Workspaces on an external database:
// a Deployment in a namespace of its own, from the same postgres image the node has (built here), reached by pods
// through its Service's DNS name. Also the restricted namespace every end-to-end Workspace lives in.
import { randomBytes } from "node:crypto"
import { stringify } from "yaml"
import { kubectlStdout as ok, placeOnRealNode } from "../harness/index.js"

/** Creates a namespace on the real node that enforces the restricted profile, as every Workspace's in these suites. */
export const restrictedNamespace = async (namespace: string): Promise<void> => {
  await ok(["create", "namespace", namespace])
  await ok(["label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"])
  await placeOnRealNode(namespace)
}

export interface ExternalPostgres {
  readonly namespace: string
  /** The connection URL Prefect takes, as pods reach the database (the Service's DNS name). */
  readonly url: string
  /** The same URL with another password: what a mistyped Secret holds. */
  readonly urlWithPassword: (password: string) => string
  /** Runs one SQL statement in the database (psql over the pod's trusted loopback); resolves with its rows. */
  readonly query: (sql: string) => Promise<string>
}

const name = "team-postgres"
const user = "prefect"
const database = "prefect"

/** Creates the namespace and the database in it, and waits until it accepts connections. */
export const externalPostgres = async (namespace: string): Promise<ExternalPostgres> => {
  await restrictedNamespace(namespace)
  const password = randomBytes(12).toString("hex")
  const labels = { app: name }
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: {
            runAsUser: 999,
            runAsGroup: 999,
            fsGroup: 999,
            runAsNonRoot: true,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "postgres",
              image: "postgres:17.6",
              env: [
                { name: "POSTGRES_USER", value: user },
                { name: "POSTGRES_PASSWORD", value: password },
                { name: "POSTGRES_DB", value: database },
                { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
              ],
              ports: [{ name: "postgres", containerPort: 5432 }],
              readinessProbe: { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-U", user] } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql/data" }],
            },
          ],
          volumes: [{ name: "data", emptyDir: {} }],
        },
      },
    },
  }
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { selector: labels, ports: [{ name: "postgres", port: 5432, targetPort: "postgres" }] },
  }
  await ok(["apply", "-n", namespace, "-f", "-"], {
    input: [deployment, service].map((o) => stringify(o)).join("---\n"),
  })
  await ok(["rollout", "status", "-n", namespace, `deployment/${name}`, "--timeout=5m"])
  const urlWithPassword = (secret: string) =>
    `postgresql+asyncpg://${user}:${secret}@${name}.${namespace}.svc:5432/${database}`
  return {
    namespace,
    url: urlWithPassword(password),
    urlWithPassword,
    query: async (sql) =>
      (
        await ok([
          "exec",
          "-n",
          namespace,
          `deployment/${name}`,
          "--",
          "psql",
          "-h",
          "127.0.0.1",
          "-U",
          user,
          "-d",
          database,
          "-tAc",
          sql,
        ])
      ).trim(),
  }
}
