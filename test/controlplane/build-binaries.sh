#!/usr/bin/env bash
# Builds the real Kubernetes control plane used by the tests from Go modules (no downloads of prebuilt
# binaries, no Docker): kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from
# k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3, kwok from sigs.k8s.io/kwok.
#
# Output: $CARTOGRAPHER_CACHE (default ~/.cache/cartographer)/controlplane-<versions>/bin, reused when complete.
# Prints that bin directory as its last line. See docs/adr/0001-control-plane-versions.md for the version choice.
#
#   build-binaries.sh [--tier api|cluster]   (default: cluster, i.e. everything)
#
# KUBEBUILDER_ASSETS, when set, names a directory holding the binaries already: nothing is built and it is
# printed instead (missing binaries there are reported, not built).
set -euo pipefail
# K8S_VERSION, use_build_dir, require_go, build_k8s_commands, build_installable.
source "$(dirname "${BASH_SOURCE[0]}")/go-build.sh"

ETCD_VERSION=3.6.8     # the etcd that Kubernetes 1.36 pins in its own go.mod
KWOK_VERSION=0.7.0     # v0.8.0 dropped the built-in stages

tier=cluster
while [ $# -gt 0 ]; do
  case "$1" in
    --tier) tier="$2"; shift 2 ;;
    --tier=*) tier="${1#--tier=}"; shift ;;
    *) echo "build-binaries.sh: unknown argument $1 (usage: build-binaries.sh [--tier api|cluster])" >&2; exit 2 ;;
  esac
done
case "$tier" in api) want=(etcd kube-apiserver kubectl) ;; cluster) want=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kwok) ;;
  *) echo "build-binaries.sh: --tier must be api or cluster" >&2; exit 2 ;; esac

log() { printf '[controlplane] %s\n' "$*" >&2; }

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  missing=()
  for b in "${want[@]}"; do [ -x "$KUBEBUILDER_ASSETS/$b" ] || missing+=("$b"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build-binaries.sh: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks: ${missing[*]} (unset it to build them)" >&2
    exit 1
  fi
  echo "$KUBEBUILDER_ASSETS"; exit 0
fi

use_build_dir "controlplane-k8s$K8S_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION"

need() { for b in "$@"; do [ -x "$bin/$b" ] || return 0; done; return 1; }
in_want() { local x; for x in "${want[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }

build_k8s() {
  local cmds=() b
  for b in kube-apiserver kubectl kube-controller-manager kube-scheduler; do
    in_want "$b" && [ ! -x "$bin/$b" ] && cmds+=("$b")
  done
  [ ${#cmds[@]} -eq 0 ] && return 0
  log "building ${cmds[*]} v$K8S_VERSION from Go modules (cold, everything: about 6 min on 2 cores and 1.2 GB of modules)"
  build_k8s_commands "${cmds[@]}"
}

build_etcd() {
  [ -x "$bin/etcd" ] && return 0
  log "building etcd v$ETCD_VERSION from Go modules"
  local w="$out/src/etcd"; mkdir -p "$w"; cd "$w"
  [ -f go.mod ] || go mod init local/cartographer-etcdbin >/dev/null 2>&1
  # server/v3's own requires pin every etcd sibling at the same version: no replaces needed.
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null
  go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v$ETCD_VERSION" -o "$bin/etcd" go.etcd.io/etcd/server/v3
}

if need "${want[@]}"; then
  require_go
  start=$(date +%s)
  build_etcd
  build_k8s
  if in_want kwok; then build_installable kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"; fi
  log "built in $(( $(date +%s) - start )) s into $bin"
fi
echo "$bin"
