/**
 * `@cartographer/operator`: the operator process and its CLI. The CLI commands are exported for tests and embedding.
 */
export { type PlanIo, planText, randomPassword, runPlan, usage as planUsage } from "./cli/plan.js"
export { toYaml, toYamlStream } from "./cli/yaml.js"
