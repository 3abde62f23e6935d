#!/bin/sh
# docker-entrypoint.sh of the redis images, after their documented interface:
#
#   - options alone (`--save ""`) or a configuration file (`redis.conf`) are redis-server's: it is put in front;
#   - redis-server started as root takes over what in its working directory (/data) is not yet the redis user's,
#     then runs as that user; started as any other user, it runs as is;
#   - without a configuration file, protected mode is off, as the official build's default is (Debian's build keeps
#     Redis's own default, on); an explicit --protected-mode wins;
#   - a umask of 0022 becomes 0077 (the data files are the server's alone).
set -e

case "$1" in -* | *.conf) set -- redis-server "$@" ;; esac

if [ "$1" = redis-server ]; then
  config_file=
  case "${2:-}" in '' | -*) ;; *) config_file=$2 ;; esac
  explicit=
  for arg in "$@"; do [ "$arg" != --protected-mode ] || explicit=1; done
  if [ -z "$config_file" ] && [ -z "$explicit" ]; then
    shift
    set -- redis-server "$@" --protected-mode no
  fi
  if [ "$(id -u)" = 0 ]; then
    find . ! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --clear-groups -- "$0" "$@"
  fi
fi

if [ "$(umask)" = 0022 ]; then umask 0077; fi
exec "$@"
