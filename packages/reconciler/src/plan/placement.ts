/**
 * Where a component's pods run and what they carry, from the Workspace's defaults and the component's own fields:
 * the one definition every workload's pod is built with (`podSecurity.ts` spreads it in).
 *
 * A component's `nodeSelector`, `tolerations`, `affinity`, `topologySpreadConstraints` and `priorityClassName`
 * replace the Workspace's when it states them (an empty one clears them); `podLabels` and `podAnnotations` are
 * merged key by key, the component's winning, and never touch the labels Cartographer selects by (the Schema refuses
 * those keys). A spread constraint without `labelSelector` counts the component's own pods.
 *
 * Everything copied from the spec is written in a canonical form (object keys sorted, lists in the order given), so
 * that the same spec always yields the same objects and the same applied intent: a resync writes nothing.
 */
import type { AgentPool, Placement, TopologySpreadConstraint } from "@cartographer/schema"
import type { PlanContext } from "./context.js"
import type { Labels, PodSpec } from "./kube.js"
import { type Component, labels, selectorLabels } from "./labels.js"
import { canonical } from "./sorted.js"

/** A component of the Workspace as its pods see it. */
export interface PodComponent {
  /** Every label of its pods (the selector's among them). */
  readonly labels: Labels
  /** The labels its controller selects its pods by. */
  readonly selector: Labels
  /** What the component's own spec says about its pods (overriding the Workspace's). */
  readonly placement: Placement | undefined
}

/** The component's labels and its own placement fields, read from where its spec states them. */
export const podComponent = (ctx: PlanContext, component: Component, pool?: AgentPool): PodComponent => {
  const { workflows } = ctx
  const placement: Placement | undefined =
    component === "agent"
      ? pool
      : // The background services are the server's other half: they run where its pods run, with its metadata.
        component === "server" || component === "services"
        ? workflows.server
        : component === "database"
          ? workflows.database
          : component === "redis"
            ? workflows.redis
            : component === "migration"
              ? workflows.migration
              : undefined
  return {
    labels: labels(ctx, component, pool?.name),
    selector: selectorLabels(ctx, component, pool?.name),
    placement,
  }
}

const nonEmpty = <A>(list: ReadonlyArray<A> | undefined): list is ReadonlyArray<A> =>
  list !== undefined && list.length > 0

/** The component's value of a field, else the Workspace's. */
const either = <K extends keyof Placement>(ctx: PlanContext, component: PodComponent, key: K): Placement[K] =>
  component.placement?.[key] !== undefined ? component.placement[key] : ctx.workflows[key]

const withDefaultSelector = (constraint: TopologySpreadConstraint, selector: Labels): TopologySpreadConstraint =>
  constraint.labelSelector === undefined ? { ...constraint, labelSelector: { matchLabels: selector } } : constraint

/**
 * The scheduling fields of the component's pods, in the order the planner writes them; absent when empty (so that a
 * Workspace that states none plans exactly the pods it always did).
 */
export const placementPodFields = (
  ctx: PlanContext,
  component: PodComponent,
): Pick<PodSpec, "nodeSelector" | "affinity" | "tolerations" | "topologySpreadConstraints" | "priorityClassName"> => {
  const nodeSelector = either(ctx, component, "nodeSelector")
  const affinity = either(ctx, component, "affinity")
  const tolerations = either(ctx, component, "tolerations")
  const spread = either(ctx, component, "topologySpreadConstraints")
  const priorityClassName = either(ctx, component, "priorityClassName")
  return {
    ...(nodeSelector === undefined || Object.keys(nodeSelector).length === 0
      ? {}
      : { nodeSelector: canonical(nodeSelector) }),
    ...(affinity === undefined || Object.keys(affinity).length === 0 ? {} : { affinity: canonical(affinity) }),
    ...(nonEmpty(tolerations) ? { tolerations: canonical(tolerations) } : {}),
    ...(nonEmpty(spread)
      ? { topologySpreadConstraints: canonical(spread.map((c) => withDefaultSelector(c, component.selector))) }
      : {}),
    ...(priorityClassName === undefined ? {} : { priorityClassName }),
  }
}

/** The pods' metadata: Cartographer's labels, then the Workspace's and the component's extra labels and annotations. */
export const podMetadata = (
  ctx: PlanContext,
  component: PodComponent,
): { readonly labels: Labels; readonly annotations?: Readonly<Record<string, string>> } => {
  const extraLabels = canonical({ ...ctx.workflows.podLabels, ...component.placement?.podLabels })
  const annotations = canonical({ ...ctx.workflows.podAnnotations, ...component.placement?.podAnnotations })
  return {
    // Cartographer's own last: a label it selects by can never be overridden (the Schema refuses such keys anyway).
    labels: { ...component.labels, ...extraLabels, ...component.labels },
    ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
  }
}
