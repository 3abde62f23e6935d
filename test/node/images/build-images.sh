#!/usr/bin/env bash
# Builds every image the node tests run (test/node/images/images.ts, and the operator's own image) as OCI
# archives, from Debian packages, PyPI and npm only: no registry of images, no Docker. Cached by content in
# $CARTOGRAPHER_CACHE (default ~/.cache/cartographer)/images; a warm run prints the cached archives at once.
#
#   build-images.sh [pause|prefect|prefect-kubernetes|postgres|redis|cartographer]…   (default: all)
#
# Prints one line per image, `<reference><TAB><archive>`, for `ctr -n k8s.io images import <archive>` (the archive
# names its image: the import lands under <reference>). Progress goes to stderr. Needs root (mmdebstrap, chroot
# and mounts in a private namespace) and the Debian packages named below; concurrent runs wait for each other.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

if [ "$(id -u)" != 0 ]; then
  echo "build-images.sh: must run as root (mmdebstrap, chroot and bind mounts build the images)" >&2; exit 1
fi
missing=()
for tool in mmdebstrap unshare chroot mount flock cc dpkg-deb npm python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
python3 -m pip --version >/dev/null 2>&1 || missing+=("python3 -m pip")
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-images.sh: missing ${missing[*]} (Debian, as root: bash scripts/install-debian-packages.sh)" >&2
  exit 1
fi
# The repository's pinned Node (the `node` devDependency): the operator image's bytes depend on its zlib.
node="$repo/node_modules/.bin/node"
[ -x "$node" ] || { echo "build-images.sh: $node is missing: run npm ci first" >&2; exit 1; }

cache="${CARTOGRAPHER_CACHE:-$HOME/.cache/cartographer}/images"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
exec "$node" "$repo/test/local/run-ts.mjs" "$here/build.ts" "$@"
