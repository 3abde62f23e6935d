// The release, installed as a team installs it, on a cluster of its own whose only node is real: `npm run release`
// (as the publishing workflow runs it: the image named for a registry and pinned to its digest), its files checked
// with `sha256sum -c`, the zip unpacked into an empty folder, the image archive imported into the node's containerd
// (a cluster without a registry), `kubectl apply -k install` from that folder, and samples/basic-workspace.yaml from
// it. Nothing else of the checkout is read: the operator that reconciles is the archive's, in the install's pods.
//
// A control plane of its own, because the install is cluster-wide (an operator for every namespace, the CRD), and
// its node untainted, as a cluster's only node is. It takes a Workspace suite's turn: the machine's cores are shared.
import { readFile, rm } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { parse } from "yaml"
import {
  type ControlPlane,
  describeOnRealNode,
  type KubeApi,
  makeKubeApi,
  ownedTempDir,
  pollUntil,
  type Release,
  readAudit,
  run,
  runKubectl,
  runRelease,
  startControlPlane,
  unpackRelease,
  useRealNodeTurn,
} from "../harness/index.js"
import { buildImages } from "../node/images.js"
import { serviceUrl } from "./cluster.js"
import { prefectApi } from "./prefect.js"

const minutes = (n: number) => n * 60_000
const system = "cartographer-system"
const operatorUser = `system:serviceaccount:${system}:cartographer`
/** Where the publishing workflow would push (a name under the reserved `.test` domain: nothing can pull it). */
const imageRepository = "registry.cartographer.test/team/cartographer"

interface Pod {
  readonly metadata: { readonly name: string }
  readonly spec: { readonly containers: ReadonlyArray<{ readonly image: string }> }
  readonly status?: {
    readonly conditions?: ReadonlyArray<{ readonly type: string; readonly status: string }>
    readonly containerStatuses?: ReadonlyArray<{ readonly imageID: string; readonly restartCount: number }>
  }
}

describeOnRealNode("a release installed from its files alone, on a real node", () => {
  useRealNodeTurn()
  let release: Release
  let folder: string
  let removeFolder: () => Promise<void>
  let cp: ControlPlane
  let api: KubeApi
  /** The operator image as the zip's kustomization sets it. */
  let image: { readonly newName: string; readonly newTag: string; readonly digest: string }
  let started: Date

  const kubectl = (args: ReadonlyArray<string>, input?: string) =>
    runKubectl(cp.kubectlPath, cp.kubeconfigPath, args, input === undefined ? {} : { input })
  const operatorPods = async () =>
    JSON.parse(
      (await kubectl(["get", "pods", "-n", system, "-l", "app.kubernetes.io/name=cartographer", "-o", "json"])).stdout,
    ).items as ReadonlyArray<Pod>
  const operatorLogs = async (pod: string) => (await kubectl(["logs", "-n", system, pod, "--tail=-1"])).stdout
  const state = async () => {
    const pods = await kubectl(["get", "pods,pvc,workspaces", "-A", "-o", "wide"])
    const events = await kubectl(["get", "events", "-A", "--sort-by=.lastTimestamp"])
    const logs = []
    for (const pod of await operatorPods().catch(() => []))
      logs.push(
        `--- ${pod.metadata.name}\n${(await operatorLogs(pod.metadata.name)).split("\n").slice(-15).join("\n")}`,
      )
    return `${pods.stdout}\n--- events\n${events.stdout.split("\n").slice(-25).join("\n")}\n${logs.join("\n")}`
  }
  const until = <A>(what: string, check: () => Promise<A | undefined>, timeoutMs: number) =>
    pollUntil(what, check, { timeoutMs, intervalMs: 2_000, describe: () => "" }).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await state()}`)
    })

  beforeAll(async () => {
    release = await runRelease({ image: imageRepository, pinDigest: true })
    const unpacked = await ownedTempDir("cartographer-installed-")
    folder = join(unpacked.dir, `cartographer-${release.version}`)
    removeFolder = () => rm(unpacked.dir, { recursive: true, force: true })
    await unpackRelease(release.zip, folder)
    const kustomization = parse(await readFile(join(folder, "install", "kustomization.yaml"), "utf8")) as {
      images: ReadonlyArray<typeof image & { name: string }>
    }
    const entry = kustomization.images.find((i) => i.name === "cartographer")
    if (entry === undefined) throw new Error("the zip's kustomization names no cartographer image")
    image = entry
    // What the node has besides: the sandbox image and the sample's Prefect and Postgres, as a cluster's registry
    // would serve them.
    cp = await startControlPlane({
      tier: "node",
      nodes: 0,
      realNodeTainted: false,
      images: await buildImages(["pause", "prefect", "postgres"]),
    })
    api = makeKubeApi(cp.kubeConfig)
    started = new Date()
  }, minutes(30))

  /** `ctr -n k8s.io …` on the node, as INSTALL.md runs it there. */
  const ctr = async (args: ReadonlyArray<string>) => {
    const socket = cp.realNode?.containerdSocket
    if (socket === undefined) throw new Error("tier node started without a real node")
    const result = await run("ctr", ["--address", socket, "--namespace", "k8s.io", ...args], { timeoutMs: minutes(5) })
    if (result.code !== 0) throw new Error(`ctr ${args.join(" ")}: ${result.stderr}`)
    return result.stdout
  }

  afterAll(async () => {
    await cp?.stop()
    await release?.remove()
    await removeFolder?.()
  }, minutes(3))

  it("comes with SHA256SUMS that the zip and the image archive match", async () => {
    const checked = await run("sha256sum", ["--check", "--strict", "SHA256SUMS"], { cwd: release.dir })
    expect(checked.code, checked.stdout + checked.stderr).toBe(0)
    expect(image).toMatchObject({ newName: imageRepository, newTag: release.version })
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/u)
  })

  it("imports into the node's containerd as INSTALL.md says: under the kustomization's name and the digest it pins", async () => {
    // --base-name: the entry's name, for the digest reference that --digests adds (what a pinned entry resolves to).
    await ctr(["images", "import", "--base-name", image.newName, "--digests", release.image])
    const listed = (await ctr(["images", "list", "--quiet"])).split("\n")
    expect(listed).toContain(`${image.newName}:${image.newTag}`)
    expect(listed).toContain(`${image.newName}@${image.digest}`)
  })

  it(
    "kubectl apply -k install runs the archive's operator: 2 pods Ready under the restricted profile, one leader",
    async () => {
      const applied = await kubectl(["apply", "-k", join(folder, "install")])
      expect(applied.code, applied.stderr).toBe(0)
      expect(applied.stderr).not.toMatch(/PodSecurity|violate/iu)
      const pods = await until(
        "both operator pods Ready",
        async () => {
          const all = await operatorPods()
          const ready = all.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
          return all.length === 2 && ready.length === 2 ? all : undefined
        },
        minutes(5),
      )
      for (const pod of pods) {
        // The image as kustomize wrote it, pinned; the runtime ran exactly that digest, pulled from nowhere.
        expect(pod.spec.containers[0]?.image).toBe(`${image.newName}:${image.newTag}@${image.digest}`)
        expect(pod.status?.containerStatuses?.[0]?.imageID).toContain(image.digest)
        expect(pod.status?.containerStatuses?.[0]?.restartCount).toBe(0)
      }
      const leader = await until(
        "one operator pod leads",
        async () => {
          const holder = await kubectl([
            "get",
            "lease",
            "cartographer-operator",
            "-n",
            system,
            "-o",
            "jsonpath={.spec.holderIdentity}",
          ])
          return pods.find((p) => holder.stdout.startsWith(`${p.metadata.name}_`))
        },
        minutes(2),
      )
      const leading = (log: string) => log.includes('"leading: starting the reconcile workers"')
      for (const pod of pods) {
        expect([pod.metadata.name, leading(await operatorLogs(pod.metadata.name))]).toEqual([
          pod.metadata.name,
          pod === leader,
        ])
      }
    },
    minutes(8),
  )

  it(
    "makes samples/basic-workspace.yaml from the zip Ready, reconciled by the leader under the install's RBAC",
    async () => {
      const applied = await kubectl(["apply", "-f", join(folder, "samples", "basic-workspace.yaml")])
      expect(applied.code, applied.stderr).toBe(0)
      await until(
        "Workspace test-environment Ready",
        async () => {
          const ready = await kubectl([
            "get",
            "workspace",
            "test-environment",
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
          ])
          return ready.stdout === "True" ? true : undefined
        },
        minutes(12),
      )
      const url = await until(
        "the server Service has a Ready endpoint",
        () => serviceUrl(api, "default", "test-environment-orion-server", "http-orion"),
        minutes(1),
      )
      expect(await prefectApi(url).health()).toBe(true)
      // Only the leader reconciles; the other replica keeps its caches warm.
      const reconciled = []
      for (const pod of await operatorPods()) {
        if ((await operatorLogs(pod.metadata.name)).includes('"key":"default/test-environment"'))
          reconciled.push(pod.metadata.name)
      }
      expect(reconciled).toHaveLength(1)
      // The RBAC that ships sufficed: the API server refused the operator nothing.
      const denied = await readAudit(cp.auditLogPath, {
        user: operatorUser,
        since: started,
        where: (e) => e.responseStatus?.code === 403,
      })
      expect(denied.map((e) => `${e.verb} ${e.requestURI}`)).toEqual([])
    },
    minutes(15),
  )
})
