#!/usr/bin/env bash
# docker-entrypoint.sh of the postgres images, after their documented interface:
#
#   - `postgres …` (or only options, `-c …`: postgres is put in front) starts the server; anything else is run as is;
#   - as root it makes PGDATA and the socket directory the postgres user's, then runs itself again as that user;
#   - on an empty PGDATA it runs initdb (superuser POSTGRES_USER, default postgres, with POSTGRES_PASSWORD, plus
#     POSTGRES_INITDB_ARGS and POSTGRES_INITDB_WALDIR), allows password logins from any host
#     (POSTGRES_HOST_AUTH_METHOD, default: the server's password_encryption, scram-sha-256), then, on a server
#     reachable only through its socket, creates POSTGRES_DB (default: the user's name) and runs
#     /docker-entrypoint-initdb.d/* (*.sh run or sourced, *.sql, *.sql.gz, *.sql.xz, *.sql.zst fed to psql);
#   - every POSTGRES_* variable above may instead be read from the file named by <VAR>_FILE;
#   - a uid without an /etc/passwd entry gets one through nss_wrapper, which initdb needs.
set -Eeo pipefail

die() { printf 'docker-entrypoint.sh: %s\n' "$*" >&2; exit 1; }

# from_file VAR [DEFAULT]: VAR, or the contents of the file $VAR_FILE names, or DEFAULT; exported.
from_file() {
  local name=$1 file_name="${1}_FILE" value=${2:-}
  if [ -n "${!name:-}" ] && [ -n "${!file_name:-}" ]; then die "$name and $file_name are both set: set one"; fi
  if [ -n "${!name:-}" ]; then
    value=${!name}
  elif [ -n "${!file_name:-}" ]; then
    value=$(<"${!file_name}")
  fi
  export "$name=$value"
  unset "$file_name"
}

read_settings() {
  from_file POSTGRES_PASSWORD
  from_file POSTGRES_USER postgres
  from_file POSTGRES_DB "$POSTGRES_USER"
  from_file POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
  : "${PGDATA:?PGDATA is not set}"
}

# Only the options that print something and exit: they need no database.
asks_for_help() {
  local arg
  for arg; do
    case "$arg" in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
  done
  return 1
}

make_directories() {
  mkdir -p "$PGDATA"
  # Postgres insists on 0700; a volume that refuses chmod fails later, with Postgres's own message.
  chmod 0700 "$PGDATA" || :
  mkdir -p /var/run/postgresql || :
  chmod 3775 /var/run/postgresql || :
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    [ "$(id -u)" != 0 ] || find "$POSTGRES_INITDB_WALDIR" ! -user postgres -exec chown postgres '{}' +
    chmod 0700 "$POSTGRES_INITDB_WALDIR"
  fi
  if [ "$(id -u)" = 0 ]; then
    find "$PGDATA" ! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql ! -user postgres -exec chown postgres '{}' +
  fi
}

check_first_start_settings() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    die "PGDATA ($PGDATA) holds no database and POSTGRES_PASSWORD is empty: set POSTGRES_PASSWORD (or, not \
recommended, POSTGRES_HOST_AUTH_METHOD=trust, which lets anyone who reaches the port in without a password)"
  fi
  if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
    echo "docker-entrypoint.sh: WARNING: POSTGRES_HOST_AUTH_METHOD=trust: every host connection is let in without a password" >&2
  fi
}

# initdb looks the current uid up; an arbitrary uid (OpenShift-style) has no entry, so lend it one.
with_passwd_entry() {
  local uid gid lib
  uid=$(id -u)
  gid=$(id -g)
  if ! getent passwd "$uid" >/dev/null; then
    for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
      [ -s "$lib" ] || continue
      NSS_WRAPPER_PASSWD=$(mktemp)
      NSS_WRAPPER_GROUP=$(mktemp)
      printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$gid" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
      printf 'postgres:x:%s:\n' "$gid" >"$NSS_WRAPPER_GROUP"
      local status=0
      LD_PRELOAD=$lib NSS_WRAPPER_PASSWD=$NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP=$NSS_WRAPPER_GROUP "$@" || status=$?
      rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
      return "$status"
    done
  fi
  "$@"
}

run_initdb() {
  local args=()
  [ -z "${POSTGRES_INITDB_WALDIR:-}" ] || args+=(--waldir "$POSTGRES_INITDB_WALDIR")
  # POSTGRES_INITDB_ARGS is shell words (it may quote): split it as the shell would.
  local extra=()
  eval "extra=($POSTGRES_INITDB_ARGS)"
  # --pwfile wants a line: an empty password is an empty line (trust), never an empty file.
  with_passwd_entry initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    "${args[@]}" "${extra[@]}"
}

allow_host_logins() {
  [ "$1" != postgres ] || shift
  local method=$POSTGRES_HOST_AUTH_METHOD
  [ -n "$method" ] || method=$(postgres -C password_encryption "$@")
  {
    echo
    [ "$method" != trust ] || echo "# trust: every host is let in without a password (POSTGRES_HOST_AUTH_METHOD)"
    echo "host all all all $method"
  } >>"$PGDATA/pg_hba.conf"
}

# A server for the setup only: no TCP listener, so that clients never meet a half-made database.
start_setup_server() {
  [ "$1" != postgres ] || shift
  NOTIFY_SOCKET='' PGUSER="${PGUSER:-$POSTGRES_USER}" \
    pg_ctl -D "$PGDATA" -w start -o "$(printf '%q ' "$@" -c listen_addresses= -p "${PGPORT:-5432}")"
}

stop_setup_server() {
  PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# sql [psql options]: psql as the superuser over the socket, stopping at the first error.
sql() {
  local options=(-v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  [ -z "$POSTGRES_DB" ] || options+=(--dbname "$POSTGRES_DB")
  PGHOST='' PGHOSTADDR='' psql "${options[@]}" "$@"
}

create_database() {
  local exists
  exists=$(POSTGRES_DB='' sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only --no-align \
    <<<"SELECT 1 FROM pg_database WHERE datname = :'db'")
  if [ -z "$exists" ]; then
    POSTGRES_DB='' sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db"'
  fi
}

run_init_files() {
  local file
  for file in /docker-entrypoint-initdb.d/*; do
    [ -e "$file" ] || continue
    case "$file" in
      *.sh)
        if [ -x "$file" ]; then
          echo "docker-entrypoint.sh: running $file"
          "$file"
        else
          echo "docker-entrypoint.sh: sourcing $file"
          # shellcheck disable=SC1090
          . "$file"
        fi
        ;;
      *.sql) echo "docker-entrypoint.sh: running $file"; sql -f "$file" ;;
      *.sql.gz) echo "docker-entrypoint.sh: running $file"; gunzip -c "$file" | sql ;;
      *.sql.xz) echo "docker-entrypoint.sh: running $file"; xzcat "$file" | sql ;;
      *.sql.zst) echo "docker-entrypoint.sh: running $file"; zstd -dc "$file" | sql ;;
      *) echo "docker-entrypoint.sh: ignoring $file" ;;
    esac
  done
}

main() {
  [ $# -gt 0 ] || exit 0
  if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi
  if [ "$1" != postgres ] || asks_for_help "$@"; then exec "$@"; fi

  read_settings
  make_directories
  if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
  fi

  if [ -s "$PGDATA/PG_VERSION" ]; then
    echo "docker-entrypoint.sh: $PGDATA holds a database: starting it"
  else
    check_first_start_settings
    # Fails here, not halfway through, when the scripts' directory cannot be read.
    ls /docker-entrypoint-initdb.d/ >/dev/null
    run_initdb
    allow_host_logins "$@"
    # psql needs the password when POSTGRES_INITDB_ARGS asked for password logins over the socket too.
    export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
    start_setup_server "$@"
    create_database
    run_init_files
    stop_setup_server
    unset PGPASSWORD
    echo "docker-entrypoint.sh: initialised $PGDATA; starting the server"
  fi
  exec "$@"
}

main "$@"
