#!/usr/bin/env bash
# Builds the binaries of the test cluster's real node from Go modules (nothing prebuilt is downloaded):
# kubelet and kube-proxy from k8s.io/kubernetes (the same release as the control plane), CoreDNS from
# github.com/coredns/coredns, and kube-router (NetworkPolicy enforcement only) from
# github.com/cloudnativelabs/kube-router/v2. containerd, runc and the CNI plugins come from Debian (see .ci/run).
#
# Output: $CARTOGRAPHER_CACHE (default ~/.cache/cartographer)/node-<versions>/bin, reused when complete.
# Prints that bin directory as its last line; progress goes to stderr. Why these: docs/adr/0006-real-node.md.
set -euo pipefail

K8S_VERSION=1.36.3        # must match test/controlplane/build-binaries.sh: kubelet may not be newer than the API server
COREDNS_VERSION=1.15.0
KUBE_ROUTER_VERSION=2.1.0 # the only kube-router/v2 release the Go module proxy serves here

log() { printf '[node] %s\n' "$*" >&2; }

cache_root="${CARTOGRAPHER_CACHE:-$HOME/.cache/cartographer}"
out="$cache_root/node-k8s$K8S_VERSION-coredns$COREDNS_VERSION-kuberouter$KUBE_ROUTER_VERSION"
bin="$out/bin"
mkdir -p "$bin"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
# The control plane's build cache: kubelet and kube-proxy share most packages with kube-apiserver.
export GOCACHE="${GOCACHE_OVERRIDE:-$cache_root/go-build}"

want=(kubelet kube-proxy coredns kube-router)
missing() { local b; for b in "${want[@]}"; do [ -x "$bin/$b" ] || return 0; done; return 1; }

exec 9>"$out/.lock"
flock 9

if ! missing; then echo "$bin"; exit 0; fi
command -v go >/dev/null 2>&1 || { echo "build-node-binaries.sh: the Go toolchain (go >= 1.26) is required" >&2; exit 1; }
start=$(date +%s)

build_k8s() {
  [ -x "$bin/kubelet" ] && [ -x "$bin/kube-proxy" ] && return 0
  log "building kubelet and kube-proxy v$K8S_VERSION from Go modules"
  local minor="${K8S_VERSION#1.}" w="$out/src/k8s"
  mkdir -p "$w"; cd "$w"
  [ -f go.mod ] || go mod init local/cartographer-nodebins >/dev/null 2>&1
  local gomod m
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  # As for the control plane: replace each staging module with its published v0.<minor>, from upstream's go.mod.
  for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*|\1|p' "$gomod"); do
    go mod edit -replace="$m=$m@v0.$minor"
  done
  local godebug
  godebug=$(sed -n 's/^godebug[[:space:]]\{1,\}default=//p' "$gomod")
  [ -n "$godebug" ] && go mod edit -godebug=default="$godebug"
  go get "k8s.io/kubernetes/cmd/kubelet@v$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-proxy@v$K8S_VERSION" >/dev/null
  local ldf="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=${minor%%.*} -X $p.gitTreeState=clean"
  done
  go build -trimpath -tags=selinux,notest -ldflags="$ldf" -o "$bin/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
}

# Both modules have no replace directives, so a plain `go install module@version` builds them as released.
build_installable() {
  local name="$1" pkg="$2" version="$3"
  [ -x "$bin/$name" ] && return 0
  log "building $name v$version from Go modules"
  GOBIN="$bin" go install -trimpath -ldflags "-s -w" "$pkg@v$version"
}

build_k8s
build_installable coredns github.com/coredns/coredns "$COREDNS_VERSION"
build_installable kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION"
log "built in $(( $(date +%s) - start )) s into $bin"
echo "$bin"
