#!/usr/bin/env bash
# postgres:<PG_MAJOR> on the Debian layer, laid out as the official image (docker-library/postgres, Debian
# variant): user and group postgres (999), the en_US.UTF-8 locale, nss_wrapper for arbitrary uids, a sample
# configuration that listens on all addresses, /var/run/postgresql and PGDATA ready for the postgres user, and
# docker-entrypoint.sh. The server is Debian's postgresql-<PG_MAJOR> package, not PGDG's.
#
# Pins (from test/node/images/images.ts): PG_MAJOR.
source "$(dirname "$0")/../rootfs.sh"

# Before any package can pick a uid for it: the official image's fixed ids, and a home postgres may write to.
add_user postgres 999 /var/lib/postgresql /bin/bash
install -d -o 999 -g 999 -m 1777 "$ROOTFS/var/lib/postgresql"

# less is psql's pager; xz-utils and zstd read compressed init scripts (*.sql.xz, *.sql.zst).
apt_install locales libnss-wrapper xz-utils zstd less
echo 'en_US.UTF-8 UTF-8' >>"$ROOTFS/etc/locale.gen"
in_root locale-gen >&2

# Clusters are made by the entrypoint in PGDATA, never by the package's postinst.
apt_install postgresql-common
sed -ri 's/^#?\s*(create_main_cluster)\s*=.*$/\1 = false/' "$ROOTFS/etc/postgresql-common/createcluster.conf"
grep -q '^create_main_cluster = false' "$ROOTFS/etc/postgresql-common/createcluster.conf"
apt_install "postgresql-$PG_MAJOR"

# initdb copies this sample into every new PGDATA: listening on all addresses is the image's default.
sample="$ROOTFS/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample"
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$sample"
grep -qF "listen_addresses = '*'" "$sample"

# The socket directory is writable for any user the container runs as (setgid, sticky); PGDATA's 1777 becomes
# 0700 once the entrypoint has made it its own. (/var/run is a link to the absolute /run: named through it, the
# path would lead out of the tree.)
install -d -o 999 -g 999 -m 3777 "$ROOTFS/run/postgresql"
install -d -o 999 -g 999 -m 1777 "$ROOTFS/var/lib/postgresql/data"
install -d -m 0755 "$ROOTFS/docker-entrypoint-initdb.d"
install -D -m 0755 "$RECIPE_DIR/docker-entrypoint.sh" "$ROOTFS/usr/local/bin/docker-entrypoint.sh"

in_root "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" --version >&2
slim
