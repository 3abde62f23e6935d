#!/usr/bin/env bash
# Lints the hosting's workflows (.github/workflows, or the files given) with actionlint, which checks their syntax,
# expressions, contexts, action inputs and job structure. actionlint is a Go module: built with the machine's go
# (GOTOOLCHAIN=local) from the Go module proxy and cached by version outside the repository, like the test cluster's
# binaries. Shell and Python checks of `run:` steps are off, so the result does not depend on what else is installed.
#
#   scripts/lint-workflows.sh [workflow.yml…]
set -euo pipefail

ACTIONLINT_VERSION=1.7.12

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache_root="${CARTOGRAPHER_CACHE:-$HOME/.cache/cartographer}"
dir="$cache_root/actionlint-$ACTIONLINT_VERSION"
bin="$dir/actionlint"

if [ ! -x "$bin" ]; then
  command -v go >/dev/null 2>&1 || { echo "lint-workflows.sh: the Go toolchain is needed to build actionlint" >&2; exit 1; }
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  if [ ! -x "$bin" ]; then
    echo "lint-workflows.sh: building actionlint v$ACTIONLINT_VERSION from Go modules" >&2
    work="$(mktemp -d "$dir/.build-XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod GOCACHE="${GOCACHE_OVERRIDE:-$cache_root/go-build}" GOBIN="$work" \
      go install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
    mv "$work/actionlint" "$bin"
  fi
fi

cd "$repo"
exec "$bin" -shellcheck= -pyflakes= "$@"
