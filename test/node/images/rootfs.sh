# Helpers for the image recipes (sourced by them; build-images.mjs runs each recipe as root with these variables):
#   ROOTFS       the tree being built: a copy of the parent layer's tree, or empty for a first layer
#   RECIPE_DIR   the recipe's own directory (its files to copy in)
#   APT_SOURCES  a file of one-line apt sources for the image's Debian release, derived from the machine's
#   CACHE_DIR    the image cache (downloads worth keeping across builds: uv's cache)
#
# A recipe changes the tree through `in_root` (a chroot with the machine's network settings) and plain file
# operations on "$ROOTFS". Nothing it mounts outlives the command: mounts live in a private mount namespace.
set -euo pipefail

log() { printf '[images] %s\n' "$*" >&2; }

# Files the chroot borrows from the machine while a command runs, as "source:target" pairs. The targets are bind
# mounts over placeholders that are removed again, so no host setting stays in the image.
in_root_binds() {
  printf '%s\n' "/etc/resolv.conf:/etc/resolv.conf" "/etc/hosts:/etc/hosts"
  # Downloads trust what the machine trusts (a TLS-inspecting proxy's CA, say), not the image's own store.
  local ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
  [ -f "$ca" ] && printf '%s\n' "$ca:/run/build-ca.crt"
  [ -n "${APT_SOURCES:-}" ] && printf '%s\n' "$APT_SOURCES:/etc/apt/sources.list.d/build.list"
  # No service starts while packages are installed (redis-server's postinst would try).
  printf '%s\n' "$(dirname "${BASH_SOURCE[0]}")/policy-rc.d:/usr/sbin/policy-rc.d"
  if [ -n "${IN_ROOT_EXTRA_BINDS:-}" ]; then printf '%s\n' $IN_ROOT_EXTRA_BINDS; fi
}

# in_root CMD [ARG...]: runs CMD inside $ROOTFS with /dev, /proc, the machine's name resolution and CA bundle.
in_root() {
  local binds placeholders=() pair src dst
  binds=$(in_root_binds)
  while IFS= read -r pair; do
    src="${pair%%:*}"; dst="$ROOTFS${pair#*:}"
    if [ -L "$dst" ]; then
      echo "in_root: $dst is a symbolic link: refusing to mount over it" >&2; return 1
    elif [ -d "$src" ] && [ ! -e "$dst" ]; then
      mkdir -p "$dst"; placeholders+=("$dst")
    elif [ ! -e "$dst" ]; then
      mkdir -p "$(dirname "$dst")"; : >"$dst"; placeholders+=("$dst")
    fi
  done <<<"$binds"
  local status=0
  BINDS=$binds unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1; shift
    mount --rbind /dev "$root/dev"
    mount -t proc proc "$root/proc"
    while IFS= read -r pair; do mount --bind "${pair%%:*}" "$root${pair#*:}"; done <<<"$BINDS"
    ca=(); [ ! -s "$root/run/build-ca.crt" ] || ca=(SSL_CERT_FILE=/run/build-ca.crt)
    exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${ca[@]}" "$@"
  ' in_root "$ROOTFS" "$@" || status=$?
  # The mounts ended with their namespace: only the empty placeholders are left to remove.
  local p
  for p in "${placeholders[@]}"; do if [ -d "$p" ]; then rmdir "$p"; else rm -f "$p"; fi; done
  return "$status"
}
export -f in_root in_root_binds

# apt_install PKG...: installs Debian packages (no recommends) and leaves no package lists or archives behind. An https
# mirror is verified with the machine's CA bundle: the image may have no CA store of its own yet.
apt_install() {
  local options=(-o Acquire::Retries=3)
  [ ! -f "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" ] || options+=(-o Acquire::https::CaInfo=/run/build-ca.crt)
  in_root apt-get "${options[@]}" update -qq
  in_root apt-get "${options[@]}" install -y -qq --no-install-recommends "$@" >/dev/null
  in_root apt-get clean
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin
}

# add_user NAME UID [HOME] [SHELL]: a system user and group with fixed ids, written directly (no useradd needed).
add_user() {
  local name=$1 id=$2 home=${3:-/nonexistent} shell=${4:-/usr/sbin/nologin}
  grep -q "^$name:" "$ROOTFS/etc/group" || printf '%s:x:%s:\n' "$name" "$id" >>"$ROOTFS/etc/group"
  grep -q "^$name:" "$ROOTFS/etc/passwd" || printf '%s:x:%s:%s::%s:%s\n' "$name" "$id" "$id" "$home" "$shell" >>"$ROOTFS/etc/passwd"
  if [ -f "$ROOTFS/etc/shadow" ] && ! grep -q "^$name:" "$ROOTFS/etc/shadow"; then
    printf '%s:!:1::::::\n' "$name" >>"$ROOTFS/etc/shadow"
  fi
  if [ -f "$ROOTFS/etc/gshadow" ] && ! grep -q "^$name:" "$ROOTFS/etc/gshadow"; then
    printf '%s:!::\n' "$name" >>"$ROOTFS/etc/gshadow"
  fi
}

# slim: what no container needs at run time (logs of the build, caches, documentation left by non-dpkg installers).
slim() {
  rm -rf "$ROOTFS"/var/log/apt/* "$ROOTFS"/var/log/dpkg.log "$ROOTFS"/var/log/alternatives.log \
    "$ROOTFS"/var/cache/debconf/*-old "$ROOTFS"/var/lib/dpkg/*-old "$ROOTFS"/root/.cache "$ROOTFS"/tmp/* \
    "$ROOTFS"/usr/share/doc-base "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/*
}
