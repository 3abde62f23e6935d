#!/usr/bin/env bash
# registry.k8s.io/pause: one static binary, /pause, and nothing else (no libc, no /etc).
source "$(dirname "$0")/../rootfs.sh"

cc -static -Os -s -Wall -Wextra -Werror -o "$ROOTFS/pause" "$RECIPE_DIR/pause.c"
"$ROOTFS/pause" --version >&2
