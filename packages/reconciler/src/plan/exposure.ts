/**
 * Reaching the server from outside the cluster: an Ingress and/or a Gateway API HTTPRoute `<ws>-orion-server` in front
 * of its Service, and the API URL the UI in the browser calls (`PREFECT_UI_API_URL`), derived from their host when the
 * spec does not state it: "the UI can't connect to the API" behind an ingress is the classic failure of a server
 * whose UI still calls `localhost` or `0.0.0.0`.
 */
import { defaultUiApiUrl } from "@cartographer/schema"
import { metadata, type PlanContext } from "./context.js"
import type { HTTPRoute, Ingress, ObjectMeta } from "./kube.js"
import { labels } from "./labels.js"
import { serverName } from "./names.js"
import { serverPath } from "./paths.js"
import { serverPort, serverPortName } from "./serverPorts.js"
import { canonical } from "./sorted.js"

/** Where the browser reaches the server, when a route names a host: `https://prefect.example.com/prefect`. */
export const externalBase = (ctx: PlanContext): string | undefined => {
  const { ingress, httpRoute } = ctx.workflows.server
  if (ingress?.host !== undefined)
    return `${ingress.tlsSecretName === undefined ? "http" : "https"}://${ingress.host}${serverPath(ctx)}`
  const host = httpRoute?.hostnames?.[0]
  if (host !== undefined) return `${httpRoute?.https === false ? "http" : "https"}://${host}${serverPath(ctx)}`
  return undefined
}

/**
 * The UI's API URL: the spec's, else derived from a route's host, else the port-forward URL. The port-forward default
 * written out counts as unset: the CRD used to default the field, so Workspaces stored then carry it explicitly.
 */
export const uiApiUrl = (ctx: PlanContext): string => {
  const given = ctx.workflows.server.uiApiUrl
  if (given !== undefined && given !== defaultUiApiUrl) return given
  const external = externalBase(ctx)
  return external === undefined ? `http://localhost:${serverPort}${serverPath(ctx)}/api` : `${external}/api`
}

const routeMetadata = (ctx: PlanContext, annotations: Readonly<Record<string, string>> | undefined): ObjectMeta =>
  metadata(ctx, serverName(ctx), labels(ctx, "server"), {
    ...(annotations === undefined || Object.keys(annotations).length === 0
      ? {}
      : { annotations: canonical(annotations) }),
  })

export const planIngress = (ctx: PlanContext): Ingress | undefined => {
  const ingress = ctx.workflows.server.ingress
  if (ingress === undefined) return undefined
  const path = ingress.path
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: routeMetadata(ctx, ingress.annotations),
    spec: {
      ...(ingress.className === undefined ? {} : { ingressClassName: ingress.className }),
      ...(ingress.tlsSecretName === undefined || ingress.host === undefined
        ? {}
        : { tls: [{ hosts: [ingress.host], secretName: ingress.tlsSecretName }] }),
      rules: [
        {
          ...(ingress.host === undefined ? {} : { host: ingress.host }),
          http: {
            paths: [
              {
                path,
                pathType: "Prefix",
                backend: { service: { name: serverName(ctx), port: { name: serverPortName } } },
              },
            ],
          },
        },
      ],
    },
  }
}

export const planHttpRoute = (ctx: PlanContext): HTTPRoute | undefined => {
  const route = ctx.workflows.server.httpRoute
  if (route === undefined) return undefined
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: routeMetadata(ctx, route.annotations),
    spec: {
      parentRefs: route.parentRefs.map((ref) => ({
        name: ref.name,
        ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
        ...(ref.sectionName === undefined ? {} : { sectionName: ref.sectionName }),
        ...(ref.port === undefined ? {} : { port: ref.port }),
      })),
      ...(route.hostnames === undefined || route.hostnames.length === 0 ? {} : { hostnames: route.hostnames }),
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: route.path } }],
          // Gateway API backends name the Service's port by number.
          backendRefs: [{ name: serverName(ctx), port: serverPort }],
        },
      ],
    },
  }
}
