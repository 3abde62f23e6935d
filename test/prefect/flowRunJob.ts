// What the suites read of a flow run's Job as prefect-kubernetes renders it from a kubernetes pool's base job
// template: rendered offline (test/prefect/baseJobTemplate.it) or created by a worker on the real node (e2e).

export interface FlowRunJob {
  readonly metadata: { readonly namespace: string }
  readonly spec: {
    readonly ttlSecondsAfterFinished?: number
    readonly template: {
      readonly spec: {
        readonly serviceAccountName?: string
        readonly nodeSelector?: Record<string, string>
        readonly tolerations?: ReadonlyArray<Record<string, unknown>>
        readonly imagePullSecrets?: ReadonlyArray<{ readonly name: string }>
        readonly securityContext?: Record<string, unknown>
        readonly containers: ReadonlyArray<{
          readonly image: string
          readonly env?: ReadonlyArray<{ readonly name: string; readonly value?: string; readonly valueFrom?: unknown }>
          readonly envFrom?: ReadonlyArray<unknown>
          readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> }
          readonly securityContext?: Record<string, unknown>
          readonly volumeMounts?: ReadonlyArray<{ readonly mountPath: string }>
        }>
      }
    }
  }
}
