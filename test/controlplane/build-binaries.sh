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

K8S_VERSION=1.36.3
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

cache_root="${CARTOGRAPHER_CACHE:-$HOME/.cache/cartographer}"
out="$cache_root/controlplane-k8s$K8S_VERSION-etcd$ETCD_VERSION-kwok$KWOK_VERSION"
bin="$out/bin"
mkdir -p "$bin"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
# Keep Go's build cache beside ours so that a machine-wide `go clean -cache` does not force a full rebuild.
export GOCACHE="${GOCACHE_OVERRIDE:-$cache_root/go-build}"

require_go() {
  command -v go >/dev/null 2>&1 || {
    echo "build-binaries.sh: the Go toolchain (go >= 1.26) is required: install it (e.g. apt-get install golang-go, or from go.dev) and retry" >&2; exit 1; }
  # Kubernetes 1.36 says `go 1.26.0`; with GOTOOLCHAIN=local an older go would fail deep inside `go get`.
  go_version=$(GOTOOLCHAIN=local go env GOVERSION); go_version=${go_version#go}
  IFS=. read -r go_major go_minor _ <<<"$go_version"
  if [ "${go_major:-0}" -lt 1 ] || { [ "$go_major" -eq 1 ] && [ "${go_minor:-0}" -lt 26 ]; }; then
    echo "build-binaries.sh: go $go_version is too old: Kubernetes $K8S_VERSION needs go >= 1.26 (install it from go.dev)" >&2; exit 1
  fi
}

need() { for b in "$@"; do [ -x "$bin/$b" ] || return 0; done; return 1; }
in_want() { local x; for x in "${want[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }

# Serialise concurrent builds (two test runs starting at once) on one lock per cache directory.
exec 9>"$out/.lock"
flock 9

build_k8s() {
  local cmds=() b
  for b in kube-apiserver kubectl kube-controller-manager kube-scheduler; do
    in_want "$b" && [ ! -x "$bin/$b" ] && cmds+=("$b")
  done
  [ ${#cmds[@]} -eq 0 ] && return 0
  log "building ${cmds[*]} v$K8S_VERSION from Go modules (cold, everything: about 6 min on 2 cores and 1.2 GB of modules)"
  local minor="${K8S_VERSION#1.}" w
  w="$out/src/k8s"; mkdir -p "$w"; cd "$w"
  [ -f go.mod ] || go mod init local/cartographer-k8sbins >/dev/null 2>&1
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  # k8s.io/kubernetes requires every staging module at v0.0.0 and replaces it with a local path; a consumer
  # must replace each with its published v0.<minor> instead. Derive the list from upstream's own go.mod.
  local m
  for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*|\1|p' "$gomod"); do
    go mod edit -replace="$m=$m@v0.$minor"
  done
  # A dependency's godebug line is ignored: mirror upstream's (default=go1.26 for 1.36) in the wrapper.
  local godebug
  godebug=$(sed -n 's/^godebug[[:space:]]\{1,\}default=//p' "$gomod")
  [ -n "$godebug" ] && go mod edit -godebug=default="$godebug"
  local pkgs=() c
  for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  go get "${pkgs[@]/%/@v$K8S_VERSION}" >/dev/null
  local ldf="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=${minor%%.*} -X $p.gitTreeState=clean"
  done
  go build -trimpath -tags=selinux,notest -ldflags="$ldf" -o "$bin/" "${pkgs[@]}"
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

build_kwok() {
  in_want kwok || return 0
  [ -x "$bin/kwok" ] && return 0
  log "building kwok v$KWOK_VERSION from Go modules"
  GOBIN="$bin" go install "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
}

if need "${want[@]}"; then
  require_go
  start=$(date +%s)
  build_etcd
  build_k8s
  build_kwok
  log "built in $(( $(date +%s) - start )) s into $bin"
fi
echo "$bin"
