#!/usr/bin/env bash
# Builds the binaries of the test cluster's real node from Go modules (nothing prebuilt is downloaded):
# kubelet and kube-proxy from k8s.io/kubernetes (the same release as the control plane), CoreDNS from
# github.com/coredns/coredns, and kube-router (NetworkPolicy enforcement only) from
# github.com/cloudnativelabs/kube-router/v2. containerd, runc and the CNI plugins come from Debian (see .ci/run).
#
# Output: $CARTOGRAPHER_CACHE (default ~/.cache/cartographer)/node-<versions>/bin, reused when complete.
# Prints that bin directory as its last line; progress goes to stderr. Why these: docs/adr/0006-real-node.md.
set -euo pipefail
# K8S_VERSION (the control plane's), use_build_dir, require_go, build_k8s_commands, build_installable.
source "$(dirname "${BASH_SOURCE[0]}")/../controlplane/go-build.sh"

COREDNS_VERSION=1.15.0
KUBE_ROUTER_VERSION=2.1.0 # the only kube-router/v2 release the Go module proxy serves here

log() { printf '[node] %s\n' "$*" >&2; }

use_build_dir "node-k8s$K8S_VERSION-coredns$COREDNS_VERSION-kuberouter$KUBE_ROUTER_VERSION"

want=(kubelet kube-proxy coredns kube-router)
missing() { local b; for b in "${want[@]}"; do [ -x "$bin/$b" ] || return 0; done; return 1; }

if ! missing; then echo "$bin"; exit 0; fi
require_go
start=$(date +%s)

build_k8s() {
  [ -x "$bin/kubelet" ] && [ -x "$bin/kube-proxy" ] && return 0
  log "building kubelet and kube-proxy v$K8S_VERSION from Go modules"
  build_k8s_commands kubelet kube-proxy
}

build_k8s
build_installable coredns github.com/coredns/coredns "$COREDNS_VERSION"
build_installable kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION"
log "built in $(( $(date +%s) - start )) s into $bin"
echo "$bin"
