// The control plane's PKI, generated per run with openssl(1): one CA that signs the API server's serving
// certificate and the client certificates of each identity (user = CN, groups = O), plus the ServiceAccount
// token signing key. Short-lived and thrown away with the temp dir.
import { execFile } from "node:child_process"
import { generateKeyPairSync } from "node:crypto"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

export interface CertFiles {
  readonly cert: string
  readonly key: string
}

export interface ClientIdentity {
  readonly user: string
  readonly groups: ReadonlyArray<string>
}

export interface Pki {
  readonly caCert: string
  readonly caKey: string
  readonly serving: CertFiles
  /** ServiceAccount token signing key pair (PEM files). */
  readonly serviceAccountKey: string
  readonly serviceAccountPub: string
  readonly clients: ReadonlyMap<string, CertFiles>
}

const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "7"]

const openssl = async (args: ReadonlyArray<string>) => {
  try {
    await run("openssl", [...args])
  } catch (error) {
    throw new Error(`openssl ${args.join(" ")} failed (is the Debian package "openssl" installed?): ${String(error)}`)
  }
}

// A leaf signed by the CA in one call (OpenSSL >= 3.0: `req -x509 -CA`).
const leaf = async (
  dir: string,
  name: string,
  subject: string,
  pki: { caCert: string; caKey: string },
  ext: string[],
) => {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) }
  const extensions = ext.flatMap((e) => ["-addext", e])
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-CA",
    pki.caCert,
    "-CAkey",
    pki.caKey,
    "-subj",
    subject,
    ...extensions,
    "-keyout",
    files.key,
    "-out",
    files.cert,
  ])
  return files
}

// Subjects are slash-separated; escape what openssl would read as separators.
const rdn = (value: string) => value.replace(/[/\\,+=]/g, (c) => `\\${c}`)

/** The API server's `--service-cluster-ip-range`: its first address is the `kubernetes` Service's ClusterIP. */
export const serviceClusterIpRange = "10.96.0.0/16"
export const kubernetesServiceIp = "10.96.0.1"
const kubernetesServiceNames = [
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
]

/** A certificate for another server (e.g. a kubelet), signed by the run's CA, for the given IP and DNS names. */
export const issueServingCertificate = (
  pki: Pki,
  dir: string,
  name: string,
  subject: string,
  names: { readonly ips: ReadonlyArray<string>; readonly dns: ReadonlyArray<string> },
): Promise<CertFiles> =>
  leaf(dir, name, `/CN=${rdn(subject)}`, pki, [
    ...leafExtensions("serverAuth"),
    `subjectAltName=${[...names.ips.map((ip) => `IP:${ip}`), ...names.dns.map((d) => `DNS:${d}`)].join(",")}`,
  ])

/** A client certificate for another identity (user = CN, groups = O), signed by the run's CA. */
export const issueClientCertificate = (pki: Pki, dir: string, name: string, identity: ClientIdentity) =>
  leaf(dir, name, subjectOf(identity), pki, leafExtensions("clientAuth"))

const leafExtensions = (usage: string) => [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature,keyEncipherment",
  `extendedKeyUsage=${usage}`,
]

const subjectOf = ({ user, groups }: ClientIdentity) => `${groups.map((g) => `/O=${rdn(g)}`).join("")}/CN=${rdn(user)}`

export const createPki = async (dir: string, identities: ReadonlyArray<ClientIdentity>): Promise<Pki> => {
  const ca = { caCert: join(dir, "ca.crt"), caKey: join(dir, "ca.key") }
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-subj",
    "/CN=cartographer-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    ca.caKey,
    "-out",
    ca.caCert,
  ])
  const serving = leaf(dir, "apiserver", "/CN=kube-apiserver", ca, [
    ...leafExtensions("serverAuth"),
    // Loopback for the harness; the `kubernetes` Service's ClusterIP and names for pods on the real node.
    `subjectAltName=IP:127.0.0.1,IP:${kubernetesServiceIp},DNS:localhost,${kubernetesServiceNames.map((n) => `DNS:${n}`).join(",")}`,
  ])
  const clients = Promise.all(
    identities.map(
      async (identity, i) =>
        [identity.user, await leaf(dir, `client-${i}`, subjectOf(identity), ca, leafExtensions("clientAuth"))] as const,
    ),
  )
  const sa = generateKeyPairSync("ec", { namedCurve: "P-256" })
  const serviceAccountKey = join(dir, "sa.key")
  const serviceAccountPub = join(dir, "sa.pub")
  await writeFile(serviceAccountKey, sa.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 })
  await writeFile(serviceAccountPub, sa.publicKey.export({ type: "spki", format: "pem" }))
  return { ...ca, serving: await serving, serviceAccountKey, serviceAccountPub, clients: new Map(await clients) }
}
