/**
 * `@cartographer/operator`: the operator process and its CLI. The CLI commands are exported for tests and embedding.
 */
export { type DiffIo, maskSecrets, runDiff, usage as diffUsage } from "./cli/diff.js"
export { type PlanIo, planText, randomPassword, runPlan, usage as planUsage } from "./cli/plan.js"
export { toYaml, toYamlStream } from "./cli/yaml.js"
export { CacheSyncTimeout, main as operatorMain, operator } from "./run/Operator.js"
export { loadRunConfig, type RunConfig, runOptions, UsageError, usage as runUsage } from "./run/RunConfig.js"
export { version } from "./version.js"
