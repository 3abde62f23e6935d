#!/usr/bin/env bash
# The first layer of the postgres, redis and prefect images: Debian $DEBIAN_SUITE at mmdebstrap's minbase variant
# (the Essential and Priority:required packages and apt: what debian:<suite>-slim, the official images' base, has).
#
# dpkg keeps leaving documentation, manual pages and translations out in every later layer too, as in the slim
# images (copyright notices stay). The image keeps no apt sources: the build lends them only while it runs apt.
source "$(dirname "$0")/../rootfs.sh"

mmdebstrap --quiet --variant=minbase --mode=root --format=directory \
  --aptopt='Acquire::Languages "none"' \
  --aptopt='Acquire::Retries "3"' \
  --dpkgopt='force-unsafe-io' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/groff/*' \
  --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --dpkgopt='path-exclude=/usr/share/linda/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --customize-hook='rm -f "$1/etc/apt/sources.list" "$1/etc/resolv.conf" "$1/etc/hostname"' \
  "$DEBIAN_SUITE" "$ROOTFS" - <"$APT_SOURCES"
slim
