// Data stores of a team's own, outside any Workspace, for the suites and samples that point a Workspace at them: a
// PostgreSQL and a password-protected Redis, each a Deployment and Service in a namespace of its own, from the images
// the node has (built here), reached by pods through the Service's DNS name. Also the restricted namespace every
// end-to-end Workspace lives in.
import { randomBytes } from "node:crypto"
import { kubectlStdout as ok, placeOnRealNode } from "../harness/index.js"

/** Creates a namespace on the real node that enforces the restricted profile, as every Workspace's in these suites. */
export const restrictedNamespace = async (namespace: string): Promise<void> => {
  await ok(["create", "namespace", namespace])
  await ok(["label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"])
  await placeOnRealNode(namespace)
}

/**
 * Deployment and Service `name` in a new restricted namespace: one container listening on `port`, running as `uid` on
 * an emptyDir at `dataDir`. Resolves once it is rolled out.
 */
const teamStore = async (
  namespace: string,
  name: string,
  store: { readonly uid: number; readonly port: number; readonly dataDir: string },
  container: Record<string, unknown>,
): Promise<void> => {
  await restrictedNamespace(namespace)
  const { uid, port, dataDir } = store
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
            runAsUser: uid,
            runAsGroup: uid,
            fsGroup: uid,
            runAsNonRoot: true,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name,
              ...container,
              ports: [{ name: "store", containerPort: port }],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              volumeMounts: [{ name: "data", mountPath: dataDir }],
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
    spec: { selector: labels, ports: [{ name: "store", port, targetPort: "store" }] },
  }
  // JSON, not YAML: kubectl reads YAML 1.1, where an argument such as `no` would be a boolean.
  await ok(["apply", "-n", namespace, "-f", "-"], {
    input: JSON.stringify({ apiVersion: "v1", kind: "List", items: [deployment, service] }),
  })
  await ok(["rollout", "status", "-n", namespace, `deployment/${name}`, "--timeout=5m"])
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

/** A PostgreSQL in a new namespace `namespace`; resolves once it accepts connections. */
export const externalPostgres = async (namespace: string): Promise<ExternalPostgres> => {
  const [name, user, database] = ["team-postgres", "prefect", "prefect"]
  const password = randomBytes(12).toString("hex")
  await teamStore(
    namespace,
    name,
    { uid: 999, port: 5432, dataDir: "/var/lib/postgresql/data" },
    {
      image: "postgres:17.6",
      env: [
        { name: "POSTGRES_USER", value: user },
        { name: "POSTGRES_PASSWORD", value: password },
        { name: "POSTGRES_DB", value: database },
        { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
      ],
      readinessProbe: { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-U", user] } },
    },
  )
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

/** A Redis requiring a password, as Deployment and Service `redis` in a new namespace. Resolves with the password. */
export const externalRedis = async (namespace: string): Promise<string> => {
  const password = randomBytes(12).toString("hex")
  await teamStore(
    namespace,
    "redis",
    { uid: 999, port: 6379, dataDir: "/data" },
    {
      image: "redis:8.2",
      args: ["--save", "", "--appendonly", "no", "--requirepass", password],
      env: [{ name: "REDISCLI_AUTH", value: password }],
      readinessProbe: { exec: { command: ["sh", "-c", "redis-cli ping | grep -q PONG"] } },
    },
  )
  return password
}
