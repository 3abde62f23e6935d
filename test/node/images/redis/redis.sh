#!/usr/bin/env bash
# redis:<tag> on the Debian layer, laid out as the official image: user and group redis (999), /data owned by it as
# the working directory, redis-server and redis-cli on PATH, and docker-entrypoint.sh. The server is Debian's
# redis-server package; the official image builds Redis from source (with its modules).
source "$(dirname "$0")/../rootfs.sh"

# Before the package's postinst can pick a uid for it: the official image's fixed ids.
add_user redis 999 /home/redis /bin/sh
apt_install redis-server
install -d -o 999 -g 999 -m 0755 "$ROOTFS/data"
install -D -m 0755 "$RECIPE_DIR/docker-entrypoint.sh" "$ROOTFS/usr/local/bin/docker-entrypoint.sh"
in_root redis-server --version >&2
slim
