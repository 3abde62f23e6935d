#!/usr/bin/env bash
# A flavour of the prefecthq/prefect images on the shared Prefect layer: the extras the official build installs
# for it (PREFECT_EXTRAS), plus pinned integrations (PACKAGES, space-separated requirements).
#
# Pins (from test/node/images/images.ts): PREFECT_VERSION, PREFECT_REDIS_VERSION, PREFECT_EXTRAS, PACKAGES.
source "$(dirname "$0")/../rootfs.sh"

export IN_ROOT_EXTRA_BINDS="$CACHE_DIR/uv:/root/.cache/uv"
mkdir -p "$CACHE_DIR/uv"
# shellcheck disable=SC2086
in_root env UV_LINK_MODE=copy uv pip install --system --compile-bytecode --quiet \
  "prefect[$PREFECT_EXTRAS]==$PREFECT_VERSION" "prefect-redis==$PREFECT_REDIS_VERSION" $PACKAGES
in_root uv pip uninstall --system --quiet setuptools 2>/dev/null || true
in_root prefect version >&2
rm -rf "$ROOTFS/root/.prefect"
slim
