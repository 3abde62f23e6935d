/**
 * Reaching the Prefect server from outside the cluster: an optional Ingress and an optional Gateway API HTTPRoute in
 * front of Service `<workspace>-orion-server`, and the rules that tie them to the UI's API URL and the server's path.
 *
 * Both route one path prefix (default `/`) to the server unchanged: Prefect serves its UI and API under that prefix
 * itself (`PREFECT_UI_SERVE_BASE`, `PREFECT_SERVER_API_BASE_PATH`), so the prefix must not be stripped on the way.
 */
import { Schema } from "effect"
import { fieldOnlyWhen } from "./cel.js"
import { ObjectName, StringMap, withDefault } from "./fields.js"
import { dns1123LabelPattern } from "./nameRules.js"

export const defaultPath = "/"
export const defaultRouteHttps = true

/** A DNS name the server is reached at: lowercase, dot-separated DNS labels, no wildcard (the UI needs one URL). */
export const Hostname = Schema.String.check(
  Schema.isMaxLength(253, { message: "must be at most 253 characters" }),
  Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/u, {
    message:
      "must be a DNS name such as prefect.example.com: lowercase letters, digits, '-' and '.', no wildcard (the UI " +
      "needs one URL to call)",
  }),
)

/** `/` or `/a/b`: what Prefect accepts as its serve base, without a trailing slash. */
export const HttpPath = Schema.String.check(
  Schema.isMaxLength(200, { message: "must be at most 200 characters" }),
  Schema.isPattern(/^\/$|^(\/[A-Za-z0-9._~-]+)+$/u, {
    message: "must be / or a path such as /prefect: segments of letters, digits, '.', '_', '~' and '-', no trailing /",
  }),
)

const pathField = withDefault(
  HttpPath,
  defaultPath,
  "Path prefix routed to the server, unchanged. Anything but `/` moves the UI and the API under it (for " +
    "`/prefect`: the UI at `/prefect`, the API at `/prefect/api`), for the workers and probes too.",
)

export const Ingress = Schema.Struct({
  className: Schema.optionalKey(ObjectName).annotate({
    description: "`spec.ingressClassName`: the IngressClass (controller) to use. The cluster's default when absent.",
  }),
  host: Schema.optionalKey(Hostname).annotate({
    description:
      "Host name the server is reached at. With it, the UI's API URL is derived (`uiApiUrl`); without it, the Ingress " +
      "matches every host and `uiApiUrl` should be set.",
  }),
  tlsSecretName: Schema.optionalKey(ObjectName).annotate({
    description:
      "Secret (in the Workspace's namespace) holding the TLS certificate for `host`; the UI is then reached over " +
      "HTTPS. Needs `host`. May be created later (e.g. by cert-manager through an annotation).",
  }),
  annotations: Schema.optionalKey(
    StringMap(64, "Annotations of the Ingress, for its controller (e.g. cert-manager.io/cluster-issuer)."),
  ),
  path: pathField,
}).annotate({
  description:
    "An Ingress `<workspace>-orion-server` in front of the server's Service (port `http-orion`). Prefect's only " +
    "protection is `basicAuth`: switch it on before exposing the server.",
})
export type Ingress = typeof Ingress.Type

const GatewayName = ObjectName.annotate({ description: "Name of the Gateway." })

export const ParentRef = Schema.Struct({
  name: GatewayName,
  namespace: Schema.optionalKey(
    Schema.String.check(
      Schema.isMaxLength(63, { message: "must be at most 63 characters" }),
      Schema.isPattern(dns1123LabelPattern, { message: "must be a namespace name (DNS-1123 label)" }),
    ),
  ).annotate({ description: "Namespace of the Gateway. The Workspace's namespace when absent." }),
  sectionName: Schema.optionalKey(
    Schema.String.check(
      Schema.isMaxLength(253, { message: "must be at most 253 characters" }),
      Schema.isPattern(dns1123LabelPattern, { message: "must be a listener name (DNS-1123 label)" }),
    ),
  ).annotate({ description: "Name of the Gateway's listener to attach to. Every listener when absent." }),
  port: Schema.optionalKey(
    Schema.Int.check(
      Schema.isGreaterThanOrEqualTo(1, { message: "must be a port number from 1 to 65535" }),
      Schema.isLessThanOrEqualTo(65535, { message: "must be a port number from 1 to 65535" }),
    ),
  ).annotate({ description: "Port of the Gateway's listener to attach to. Every port when absent." }),
}).annotate({ description: "A Gateway the route attaches to (Gateway API `parentRefs`)." })

export const HttpRoute = Schema.Struct({
  parentRefs: Schema.Array(ParentRef)
    .annotate({ description: "Gateways (or their listeners) the route attaches to; at least one." })
    .check(
      Schema.isMinLength(1, { message: "must list at least one Gateway, e.g. [{ name: shared-gateway }]" }),
      Schema.isMaxLength(32, { message: "must list at most 32 Gateways" }),
    ),
  hostnames: Schema.optionalKey(
    Schema.Array(Hostname)
      .annotate({
        description:
          "Host names the route answers. The first one derives the UI's API URL (`uiApiUrl`) unless the Ingress " +
          "has a host. Every host name of the Gateway when absent.",
      })
      .check(Schema.isMaxLength(16, { message: "must list at most 16 host names" })),
  ),
  https: withDefault(
    Schema.Boolean,
    defaultRouteHttps,
    "Whether the Gateway serves these host names over HTTPS (it terminates TLS). Only used to derive the UI's API " +
      "URL (`https://` or `http://`).",
  ),
  annotations: Schema.optionalKey(StringMap(64, "Annotations of the HTTPRoute.")),
  path: pathField,
}).annotate({
  description:
    "A Gateway API HTTPRoute `<workspace>-orion-server` to the server's Service (port 4200). Needs the Gateway API " +
    "CRDs in the cluster; without them the Workspace reports `Degraded`. Prefect's only protection is `basicAuth`: " +
    "switch it on before exposing the server.",
})
export type HttpRoute = typeof HttpRoute.Type

/** A TLS Secret without a host (its CEL twin sits on `ingress`, see `crossField.ts`). */
export const tlsSecretNameNeedsHost = fieldOnlyWhen<Ingress>({
  field: "tlsSecretName",
  holds: (ingress) => ingress.host !== undefined,
  cel: "has(self.host)",
  reason: "needs ingress.host: a TLS certificate is served for a host name",
  fieldInMessage: false,
})

/** The cross-field rules of the server's exposure, as Schema issues at paths relative to `spec.workflows.server`. */
export const exposureIssues = (server: {
  readonly ingress?: Ingress | undefined
  readonly httpRoute?: HttpRoute | undefined
}): Array<Schema.FilterIssue> => {
  const issues: Array<Schema.FilterIssue> = []
  const { ingress, httpRoute } = server
  const tls = ingress === undefined ? undefined : tlsSecretNameNeedsHost.issue(ingress)
  if (tls !== undefined) issues.push({ path: ["ingress", ...tls.path], issue: tls.issue })
  if (ingress !== undefined && httpRoute !== undefined && ingress.path !== httpRoute.path)
    issues.push({
      path: ["httpRoute", "path"],
      issue: `must equal ingress.path ("${ingress.path}"): the server serves its UI and API under one path`,
    })
  return issues
}
