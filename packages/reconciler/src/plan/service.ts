/**
 * A Service in front of one component of the Workspace (Postgres, Redis, the Prefect server): cluster-internal, one
 * named TCP port, selecting the component's pods. A headless one (no cluster IP) governs the Postgres StatefulSet:
 * DNS then names its pod (`<pod>.<service>`).
 */
import { metadata, type PlanContext } from "./context.js"
import type { Service, ServicePort } from "./kube.js"
import { type Component, labels, selectorLabels } from "./labels.js"

export const planComponentService = (
  ctx: PlanContext,
  name: string,
  component: Component,
  port: { readonly name: string; readonly port: number },
  options: { readonly headless?: boolean; readonly extraPorts?: ReadonlyArray<ServicePort> } = {},
): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: metadata(ctx, name, labels(ctx, component)),
  spec: {
    type: "ClusterIP",
    ...(options.headless === true ? { clusterIP: "None" as const } : {}),
    selector: selectorLabels(ctx, component),
    ports: [
      { name: port.name, port: port.port, targetPort: port.name, protocol: "TCP" },
      ...(options.extraPorts ?? []),
    ],
  },
})
