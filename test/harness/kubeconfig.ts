// Self-contained kubeconfig files (credentials embedded), read the same way by kubectl, the Kubernetes
// components and @kubernetes/client-node.
import { readFile, writeFile } from "node:fs/promises"
import { KubeConfig } from "@kubernetes/client-node"
import { stringify } from "yaml"

export type Credentials = { readonly certFile: string; readonly keyFile: string } | { readonly token: string }

const b64 = async (file: string) => (await readFile(file)).toString("base64")

export const writeKubeconfig = async (
  path: string,
  server: string,
  caFile: string,
  user: string,
  credentials: Credentials,
): Promise<KubeConfig> => {
  const userEntry =
    "token" in credentials
      ? { token: credentials.token }
      : {
          "client-certificate-data": await b64(credentials.certFile),
          "client-key-data": await b64(credentials.keyFile),
        }
  const document = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "cartographer-test", cluster: { server, "certificate-authority-data": await b64(caFile) } }],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: user, context: { cluster: "cartographer-test", user } }],
    "current-context": user,
  }
  await writeFile(path, stringify(document), { mode: 0o600 })
  return loadKubeConfig(path)
}

export const loadKubeConfig = (path: string): KubeConfig => {
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromFile(path)
  return kubeConfig
}
