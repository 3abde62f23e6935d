import { describe, expect, it } from "vitest"
import { pruneTargets } from "../src/index.js"
import { plan } from "../src/plan/planner.js"
import { afterMigration, container, envOf, find, has, inventory, settled, ws } from "./fixtures.js"

const name = "test-environment-orion-server"
const uiApiUrl = (workflows: Record<string, unknown>) =>
  envOf(container(find(afterMigration(ws(workflows)), "Deployment", name))).PREFECT_UI_API_URL

describe("the UI's API URL", () => {
  it("is the port-forward URL when nothing routes to the server", () => {
    expect(uiApiUrl({})).toBe("http://localhost:4200/api")
  })

  it("is derived from the Ingress host: https with a TLS Secret, http without", () => {
    expect(uiApiUrl({ server: { ingress: { host: "prefect.example.com", tlsSecretName: "tls" } } })).toBe(
      "https://prefect.example.com/api",
    )
    expect(uiApiUrl({ server: { ingress: { host: "prefect.example.com" } } })).toBe("http://prefect.example.com/api")
  })

  it("is derived from the HTTPRoute's first host name when the Ingress has none, https unless told otherwise", () => {
    const route = { parentRefs: [{ name: "gw" }], hostnames: ["a.example.com", "b.example.com"] }
    expect(uiApiUrl({ server: { httpRoute: route } })).toBe("https://a.example.com/api")
    expect(uiApiUrl({ server: { httpRoute: { ...route, https: false } } })).toBe("http://a.example.com/api")
    expect(
      uiApiUrl({ server: { ingress: { host: "i.example.com" }, httpRoute: route } }),
      "the Ingress's host wins",
    ).toBe("http://i.example.com/api")
  })

  it("is the spec's when given, except the old default, which counts as unset", () => {
    const ingress = { host: "prefect.example.com", tlsSecretName: "tls" }
    expect(uiApiUrl({ server: { uiApiUrl: "https://elsewhere.example/api", ingress } })).toBe(
      "https://elsewhere.example/api",
    )
    // Stored while the CRD still defaulted the field: a Workspace then given a host must not keep calling localhost.
    expect(uiApiUrl({ server: { uiApiUrl: "http://localhost:4200/api", ingress } })).toBe(
      "https://prefect.example.com/api",
    )
  })
})

describe("an Ingress", () => {
  it("routes its class, host, path and TLS Secret to the server's named port, with the spec's annotations", () => {
    const p = afterMigration(
      ws({
        server: {
          ingress: {
            className: "nginx",
            host: "prefect.example.com",
            tlsSecretName: "prefect-tls",
            annotations: { "z.example/b": "2", "cert-manager.io/cluster-issuer": "letsencrypt" },
          },
        },
      }),
    )
    const ingress = find(p, "Ingress", name)
    // Sorted: the same annotations in another order make the same object.
    expect(Object.keys(ingress.metadata.annotations ?? {})).toEqual(["cert-manager.io/cluster-issuer", "z.example/b"])
    expect(ingress.spec).toEqual({
      ingressClassName: "nginx",
      tls: [{ hosts: ["prefect.example.com"], secretName: "prefect-tls" }],
      rules: [
        {
          host: "prefect.example.com",
          http: {
            paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { name: "http-orion" } } } }],
          },
        },
      ],
    })
  })

  it("without a host matches every host, and leaves the class to the cluster's default", () => {
    const ingress = find(afterMigration(ws({ server: { ingress: {} } })), "Ingress", name)
    expect(ingress.spec.ingressClassName).toBeUndefined()
    expect(ingress.spec.tls).toBeUndefined()
    expect(ingress.spec.rules[0]?.host).toBeUndefined()
  })

  it("is pruned when it leaves the spec", () => {
    const exposed = ws({ server: { ingress: { host: "p.example.com" } } })
    const world = settled(exposed)
    const removed = plan(ws(), world)
    expect(pruneTargets(removed.prune, inventory(plan(exposed, world))).map((o) => `${o.kind}/${o.name}`)).toEqual([
      `Ingress/${name}`,
    ])
  })
})

describe("an HTTPRoute", () => {
  it("attaches to the spec's Gateways and host names and sends its path to the server's port 4200", () => {
    const route = find(
      afterMigration(
        ws({
          server: {
            httpRoute: {
              parentRefs: [{ name: "shared", namespace: "gateways", sectionName: "https", port: 443 }, { name: "b" }],
              hostnames: ["prefect.example.com"],
              annotations: { note: "x" },
            },
          },
        }),
      ),
      "HTTPRoute",
      name,
    )
    expect(route.apiVersion).toBe("gateway.networking.k8s.io/v1")
    expect(route.metadata.annotations).toEqual({ note: "x" })
    expect(route.spec).toEqual({
      parentRefs: [{ name: "shared", namespace: "gateways", sectionName: "https", port: 443 }, { name: "b" }],
      hostnames: ["prefect.example.com"],
      rules: [{ matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name, port: 4200 }] }],
    })
  })

  it("is absent unless the spec asks for one", () => {
    expect(has(afterMigration(ws()), "HTTPRoute", name)).toBe(false)
  })
})

describe("a path prefix other than /", () => {
  const prefixed = ws({ server: { ingress: { host: "example.com", tlsSecretName: "tls", path: "/prefect" } } })

  it("makes Prefect serve the UI and the API under it, and the UI call the API there", () => {
    const env = envOf(container(find(afterMigration(prefixed), "Deployment", name)))
    expect(env).toMatchObject({
      PREFECT_SERVER_API_BASE_PATH: "/prefect/api",
      PREFECT_UI_SERVE_BASE: "/prefect",
      PREFECT_UI_API_URL: "https://example.com/prefect/api",
    })
    expect(find(afterMigration(prefixed), "Ingress", name).spec.rules[0]?.http.paths[0]?.path).toBe("/prefect")
  })

  it("moves the probes, the workers' API URL and the status' server URL with it", () => {
    const p = afterMigration(prefixed)
    const server = container(find(p, "Deployment", name))
    expect(server.startupProbe?.httpGet?.path).toBe("/prefect/api/health")
    expect(server.readinessProbe?.httpGet?.path).toBe("/prefect/api/ready")
    expect(server.livenessProbe?.httpGet?.path).toBe("/prefect/api/ready")
    const url = "http://test-environment-orion-server.prefect.svc:4200/prefect/api"
    expect(envOf(container(find(p, "Deployment", "test-environment-agent-default"))).PREFECT_API_URL).toBe(url)
    expect(p.status.serverUrl).toBe(url)
  })

  it("is the port-forward URL's path too when no host is known", () => {
    expect(uiApiUrl({ server: { ingress: { path: "/prefect" } } })).toBe("http://localhost:4200/prefect/api")
  })
})
