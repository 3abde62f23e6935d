# Sourced by test/controlplane/build-binaries.sh (the control plane) and test/node/build-node-binaries.sh (the node):
# the one Kubernetes release both build, and how either builds a binary from Go modules (nothing prebuilt is
# downloaded). Expects `log` to be defined by the sourcing script.

# kubelet may not be newer than the API server, so both scripts build this one release. Why it:
# docs/adr/0001-control-plane-versions.md.
K8S_VERSION=1.36.3

# Sets `out` ($CARTOGRAPHER_CACHE, default ~/.cache/cartographer, /$1) and `bin` (out/bin) and creates it, sets the Go
# build environment, and holds out's lock for the rest of the script: two test runs starting at once build once.
use_build_dir() {
  local cache_root="${CARTOGRAPHER_CACHE:-$HOME/.cache/cartographer}"
  out="$cache_root/$1"
  bin="$out/bin"
  mkdir -p "$bin"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  # One Go build cache beside ours for both scripts (kubelet and kube-proxy share most packages with
  # kube-apiserver), so that a machine-wide `go clean -cache` does not force a full rebuild.
  export GOCACHE="${GOCACHE_OVERRIDE:-$cache_root/go-build}"
  exec 9>"$out/.lock"
  flock 9
}

# Fails with one line unless a Go toolchain new enough for Kubernetes $K8S_VERSION is installed.
require_go() {
  local script="${0##*/}" go_version go_major go_minor
  command -v go >/dev/null 2>&1 || {
    echo "$script: the Go toolchain (go >= 1.26) is required: install it (e.g. apt-get install golang-go, or from go.dev) and retry" >&2; exit 1; }
  # Kubernetes 1.36 says `go 1.26.0`; with GOTOOLCHAIN=local an older go would fail deep inside `go get`.
  go_version=$(GOTOOLCHAIN=local go env GOVERSION); go_version=${go_version#go}
  IFS=. read -r go_major go_minor _ <<<"$go_version"
  if [ "${go_major:-0}" -lt 1 ] || { [ "$go_major" -eq 1 ] && [ "${go_minor:-0}" -lt 26 ]; }; then
    echo "$script: go $go_version is too old: Kubernetes $K8S_VERSION needs go >= 1.26 (install it from go.dev)" >&2; exit 1
  fi
}

# Builds the commands named (k8s.io/kubernetes/cmd/<name>) at $K8S_VERSION into $bin, in a module of its own under
# $out/src/k8s, stamped with the release's version as upstream's own build stamps it.
build_k8s_commands() (
  local minor="${K8S_VERSION#1.}" w="$out/src/k8s"
  mkdir -p "$w"; cd "$w"
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
  for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  go get "${pkgs[@]/%/@v$K8S_VERSION}" >/dev/null
  local ldf="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=${minor%%.*} -X $p.gitTreeState=clean"
  done
  go build -trimpath -tags=selinux,notest -ldflags="$ldf" -o "$bin/" "${pkgs[@]}"
)

# Builds binary $1 from package $2 at version $3 into $bin unless it is there: for modules without replace
# directives, which a plain `go install module@version` builds as released.
build_installable() {
  local name="$1" pkg="$2" version="$3"
  [ -x "$bin/$name" ] && return 0
  log "building $name v$version from Go modules"
  GOBIN="$bin" go install -trimpath -ldflags "-s -w" "$pkg@v$version"
}
