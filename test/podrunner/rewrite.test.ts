import { describe, expect, it } from "vitest"
import { parseImage } from "./images.js"
import { type RewriteContext, rewriteForContainer, rewriteForProbe } from "./rewrite.js"

const ips: Record<string, string> = {
  "ns/test-environment-orion-database": "127.9.128.1",
  "ns/test-environment-orion-server": "127.9.128.2",
  "other/api": "127.9.128.3",
}
const ctx: RewriteContext = {
  namespace: "ns",
  podIp: "127.9.0.7",
  services: [
    { namespace: "ns", name: "test-environment-orion-database" },
    { namespace: "ns", name: "test-environment-orion-server" },
    { namespace: "other", name: "api" },
  ],
  serviceIp: (namespace, name) => ips[`${namespace}/${name}`] ?? "127.9.128.99",
  mounts: [
    { containerPath: "/var/lib/prefect", localPath: "/tmp/pod/volumes/prefect-home" },
    { containerPath: "/tmp", localPath: "/tmp/pod/volumes/tmp" },
    { containerPath: "/var/lib/postgresql/data", localPath: "/tmp/pv/claim" },
  ],
}

describe("rewriting a container's values for the local pod runner", () => {
  it("points a bare Service name of the pod's namespace at the Service's loopback address, port kept", () => {
    expect(
      rewriteForContainer("postgresql+asyncpg://postgres:pw@test-environment-orion-database:5432/orion", ctx),
    ).toBe("postgresql+asyncpg://postgres:pw@127.9.128.1:5432/orion")
  })

  it("points fully qualified Service names at the same address, even for Services it has not seen", () => {
    expect(rewriteForContainer("http://test-environment-orion-server.ns.svc:4200/api", ctx)).toBe(
      "http://127.9.128.2:4200/api",
    )
    expect(rewriteForContainer("http://api.other.svc.cluster.local/x", ctx)).toBe("http://127.9.128.3/x")
    expect(rewriteForContainer("http://later.ns.svc:80", ctx)).toBe("http://127.9.128.99:80")
  })

  it("leaves names that only contain a Service name alone", () => {
    expect(rewriteForContainer("test-environment-orion-database-pvc", ctx)).toBe("test-environment-orion-database-pvc")
    expect(rewriteForContainer("api", ctx)).toBe("api")
  })

  it("binds wildcard listeners to the pod's own address", () => {
    expect(rewriteForContainer("0.0.0.0", ctx)).toBe("127.9.0.7")
    expect(rewriteForContainer("--host=0.0.0.0", ctx)).toBe("--host=127.9.0.7")
    expect(rewriteForContainer("::", ctx)).toBe("127.9.0.7")
    expect(rewriteForContainer("--health-probe-bind-address=:8081", ctx)).toBe(
      "--health-probe-bind-address=127.9.0.7:8081",
    )
    expect(rewriteForContainer(":8080", ctx)).toBe("127.9.0.7:8080")
    expect(rewriteForContainer("localhost:8080", ctx)).toBe("localhost:8080")
  })

  it("maps mount paths to the volume's local directory, once, including sqlite URLs", () => {
    expect(rewriteForContainer("/var/lib/prefect", ctx)).toBe("/tmp/pod/volumes/prefect-home")
    expect(rewriteForContainer("sqlite+aiosqlite:////var/lib/prefect/prefect.db", ctx)).toBe(
      "sqlite+aiosqlite:////tmp/pod/volumes/prefect-home/prefect.db",
    )
    expect(rewriteForContainer("/var/lib/postgresql/data/pgdata", ctx)).toBe("/tmp/pv/claim/pgdata")
    expect(rewriteForContainer("/var/lib/prefectX", ctx)).toBe("/var/lib/prefectX")
  })

  it("keeps localhost in a container's env (the UI's API URL is for the user's browser)", () => {
    expect(rewriteForContainer("http://localhost:4200/api", ctx)).toBe("http://localhost:4200/api")
  })

  it("points an exec probe's own loopback at the pod's address", () => {
    expect(rewriteForProbe("127.0.0.1", ctx)).toBe("127.9.0.7")
    expect(rewriteForProbe("localhost", ctx)).toBe("127.9.0.7")
  })
})

describe("reading image references", () => {
  it("drops the default registry, library/ and a digest", () => {
    expect(parseImage("docker.io/library/postgres:17.6@sha256:abc")).toEqual({ repository: "postgres", tag: "17.6" })
    expect(parseImage("prefecthq/prefect:3.9.1-python3.12-kubernetes")).toEqual({
      repository: "prefecthq/prefect",
      tag: "3.9.1-python3.12-kubernetes",
    })
    expect(parseImage("localhost:5000/x")).toEqual({ repository: "localhost:5000/x", tag: "latest" })
  })
})
