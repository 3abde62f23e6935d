/**
 * A container's compute resources (`requests`, `limits`) as a Workspace states them for each component, checked as
 * the API server checks a container's, so that a Workspace it would refuse on its pods is refused when applied.
 */
import { Schema } from "effect"
import { compareQuantities, Quantity } from "./Quantity.js"

/**
 * An extended resource (`nvidia.com/gpu`): a name with a domain outside `kubernetes.io`. Kubernetes counts these in
 * whole units and never overcommits them.
 */
const isExtendedResource = (name: string): boolean => name.includes("/") && !name.includes("kubernetes.io/")

/** A resource whose request must equal its limit (Kubernetes' `IsOvercommitAllowed` is false): hugepages, extended. */
const isNotOvercommitted = (name: string): boolean => name.startsWith("hugepages-") || isExtendedResource(name)

/** At most this many resources per list: CEL rules over a map need a bound to be admitted by the API server. */
export const maxResources = 16

export const ResourceList = Schema.Record(Schema.String, Quantity).annotate({
  description: "Resource quantities by name, e.g. cpu: 500m, memory: 1Gi.",
})

/** Why one list of resources cannot be a container's, with the path below the list, or `undefined`. */
const listIssue = (list: Readonly<Record<string, string>>) => {
  const entries = Object.entries(list)
  if (entries.length > maxResources) return { path: [], issue: `must list at most ${maxResources} resources` }
  for (const [name, quantity] of entries) {
    if (!name.includes("/") && !["cpu", "memory", "ephemeral-storage"].includes(name) && !name.startsWith("hugepages-"))
      return {
        path: [name],
        issue:
          "must be cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource with a domain, such as nvidia.com/gpu",
      }
    // Plain digits, stricter than Kubernetes (which takes `1k` or `2000m` GPUs): CEL's `isInteger()` is false for
    // whole values the API server holds as decimals (`1.5Gi`), so a pattern is what the CRD can check exactly.
    if (isExtendedResource(name) && !/^[0-9]+$/u.test(quantity))
      return { path: [name], issue: "must be a whole number such as 1 or 2: extended resources are counted in units" }
  }
  return undefined
}

/**
 * The rules of a container's resources that the API server enforces on the Deployment or StatefulSet and not on a
 * Workspace, checked here (and by CEL in the CRD, crd.ts) so that such a Workspace is refused when applied, with a
 * path, instead of accepted and then unable to run: known resource names, whole extended resources, no request
 * above its limit, and a limit equal to the request for what Kubernetes never overcommits.
 */
export const Resources = Schema.Struct({
  requests: Schema.optionalKey(ResourceList).annotate({
    description: "Resources the scheduler reserves for the container. Defaults depend on the component.",
  }),
  limits: Schema.optionalKey(ResourceList).annotate({
    description: "Upper bounds for the container. Defaults depend on the component.",
  }),
})
  .annotate({
    description:
      "Compute resources, as in a Kubernetes container (`requests`, `limits`) and checked as Kubernetes checks a " +
      "container's: no request above its limit; extended resources such as `nvidia.com/gpu` in whole units, with a " +
      "request (if any) equal to the limit.",
  })
  .check(
    Schema.makeFilter((resources) => {
      for (const key of ["requests", "limits"] as const) {
        const list = resources[key]
        const issue = list === undefined ? undefined : listIssue(list)
        if (issue !== undefined) return { path: [key, ...issue.path], issue: issue.issue }
      }
      const limits = resources.limits ?? {}
      for (const [name, request] of Object.entries(resources.requests ?? {})) {
        const limit = limits[name]
        if (isNotOvercommitted(name)) {
          if (limit === undefined || compareQuantities(request, limit) !== 0)
            return {
              path: ["requests", name],
              issue: `must equal limits.${name}: Kubernetes never overcommits ${name}, so it needs a limit of the same amount`,
            }
        } else if (limit !== undefined && (compareQuantities(request, limit) ?? 0) > 0) {
          return { path: ["requests", name], issue: `must not be more than limits.${name} (${limit})` }
        }
      }
      return undefined
    }),
  )
export type Resources = typeof Resources.Type
