// The local pod runner: test and demo infrastructure that plays kubelet for one Node with local processes
// (Prefect from a pinned venv, Postgres from Debian). Not part of the operator. See README.md beside this file.

export { type KubeApi, makeKubeApi } from "../harness/kubeApi.js"
export { type Addresses, makeAddresses } from "./addresses.js"
export { lookupImage, parseImage } from "./images.js"
export { runnerNodeLabel, runnerTaint } from "./LocalNode.js"
export { startNamespaceRunner } from "./namespaceRunner.js"
export { type PodRunner, type PodRunnerOptions, startPodRunner } from "./PodRunner.js"
export { rewriteForContainer, rewriteForProbe } from "./rewrite.js"
export { splice } from "./serviceProxy.js"
