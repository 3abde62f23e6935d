// A namespaced CRD of a test's own: the envelope the API server requires (names, one version served and stored, a
// structural schema) written once; the test gives the kind and its spec's (and status's) schema.

export interface TestKind {
  readonly group: string
  readonly kind: string
  readonly plural: string
}

/** The CRD of `kind` at version v1, whose objects' spec `schema.spec` describes; a status subresource with `status`. */
export const namespacedTestCrd = (
  kind: TestKind,
  schema: { readonly spec: Record<string, unknown>; readonly status?: Record<string, unknown> },
) => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${kind.plural}.${kind.group}` },
  spec: {
    group: kind.group,
    scope: "Namespaced",
    names: { plural: kind.plural, singular: kind.kind.toLowerCase(), kind: kind.kind, listKind: `${kind.kind}List` },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        ...(schema.status === undefined ? {} : { subresources: { status: {} } }),
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: { spec: schema.spec, ...(schema.status === undefined ? {} : { status: schema.status }) },
          },
        },
      },
    ],
  },
})
