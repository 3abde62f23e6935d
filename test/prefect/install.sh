#!/usr/bin/env bash
# Installs the pinned Prefect 3 that the end-to-end suites deploy and start flows with (the same release as the
# images built for the real node, test/node/images), into a virtualenv cached by version:
# $CARTOGRAPHER_CACHE (default ~/.cache/cartographer)/prefect-<versions>-py<X.Y>.
#
# With pip from PyPI, nothing else. Idempotent (a finished venv carries a `.complete` marker and is reused as is),
# serialised by a lock (two test runs starting at once install once). Prints the venv directory as its last line.
#
# It holds what the images hold (prefect, prefect-redis, prefect-kubernetes), so that a client here and the pods
# agree on every version. It uses the machine's Python (3.10 or newer, which Prefect 3.9 supports).
set -euo pipefail

PREFECT_VERSION=3.9.1           # the default image prefecthq/prefect:3.9.1-python3.12
PREFECT_KUBERNETES_VERSION=0.8.0 # released with 3.9.x, requires prefect>=3.x
PREFECT_REDIS_VERSION=0.3.0

log() { printf '[prefect] %s\n' "$*" >&2; }

python=""
for candidate in "${CARTOGRAPHER_PYTHON:-}" python3.12 python3.13 python3.11 python3.10 python3; do
  [ -n "$candidate" ] || continue
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    python=$(command -v "$candidate"); break
  fi
done
if [ -z "$python" ]; then
  echo "install.sh: Python >= 3.10 with the venv module is required (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi
pyver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')

cache_root="${CARTOGRAPHER_CACHE:-$HOME/.cache/cartographer}"
venv="$cache_root/prefect-$PREFECT_VERSION-kubernetes$PREFECT_KUBERNETES_VERSION-redis$PREFECT_REDIS_VERSION-py$pyver"
mkdir -p "$cache_root"

exec 9>"$venv.lock"
flock 9

if [ -f "$venv/.complete" ]; then
  echo "$venv"
  exit 0
fi

# A venv records its absolute path in its scripts, so it is built in place; a half-built one is started over.
rm -rf "$venv"
log "installing prefect==$PREFECT_VERSION (+ prefect-kubernetes $PREFECT_KUBERNETES_VERSION, prefect-redis $PREFECT_REDIS_VERSION) with $python ($pyver) into $venv (cold: a few minutes)"
started=$(date +%s)
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  "prefect==$PREFECT_VERSION" \
  "prefect-kubernetes==$PREFECT_KUBERNETES_VERSION" \
  "prefect-redis==$PREFECT_REDIS_VERSION" >&2
# Refuse a venv whose resolver moved prefect off the pin (e.g. an integration demanding another version).
installed=$("$venv/bin/python" -c 'import prefect; print(prefect.__version__)')
if [ "$installed" != "$PREFECT_VERSION" ]; then
  echo "install.sh: expected prefect $PREFECT_VERSION, the venv has $installed" >&2
  exit 1
fi
"$venv/bin/prefect" version >/dev/null
touch "$venv/.complete"
log "prefect $installed ready in $(($(date +%s) - started)) s"
echo "$venv"
