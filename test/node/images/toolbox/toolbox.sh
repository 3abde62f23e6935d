#!/usr/bin/env bash
# The node proof tests' own image (test/node/node.it.test.ts): the Debian layer (sh, coreutils, the world-writable
# /tmp a read-only root filesystem must protect) plus busybox for the network tools it lacks: a web server (httpd),
# an HTTP client (wget), nc and nslookup. Not an image the operator plans.
source "$(dirname "$0")/../rootfs.sh"

apt_install busybox
for applet in httpd wget nc nslookup; do
  [ -e "$ROOTFS/usr/bin/$applet" ] || ln -s busybox "$ROOTFS/usr/bin/$applet"
done
in_root busybox --help >/dev/null
slim
