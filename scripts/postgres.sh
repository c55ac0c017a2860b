#!/usr/bin/env bash
# A throw-away PostgreSQL for the Singer interop tests (meltanolabs-tap-postgres), run by the
# globalSetup of `npm run test:interop`. Idempotent: every command may be run again.
#
#   scripts/postgres.sh install   PostgreSQL binaries: an installed PostgreSQL when there is one
#                                 (pg_ctl/initdb on PATH, else /usr/lib/postgresql/*/bin), else
#                                 `apt-get install postgresql` (as root)
#   scripts/postgres.sh start     install, initdb (once), start on 127.0.0.1:$PORT, create the
#                                 database and (re)seed it from scripts/pg-seed.sql
#   scripts/postgres.sh seed      reset the seeded schema to its initial rows
#   scripts/postgres.sh sql SQL   run SQL in the database (psql, over TCP with the password)
#   scripts/postgres.sh status    exit 0 when our server is running, 3 when it is not
#   scripts/postgres.sh stop      stop it (fast shutdown)
#
# The server: data under $INTEROP_CACHE/pg (default .cache/interop/pg), TCP on 127.0.0.1 only,
# port $INTEROP_PG_PORT (default 54329, not the usual 5432), no Unix socket, superuser
# `interop` with a password (scram-sha-256 for every connection), database `interop`,
# timezone UTC, fsync off (test data). PostgreSQL refuses to run as root: as root, initdb and
# pg_ctl run as the `postgres` user (made by the Debian package), else as `nobody`.
# Messages go to stderr, prefixed with "postgres.sh:".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${INTEROP_PG_PORT:-54329}"
BASE="${INTEROP_CACHE:-$ROOT/.cache/interop}/pg"
PGUSER_NAME=interop
PGPASSWORD_VALUE=interop-secret
PGDB=interop
SEED="$ROOT/scripts/pg-seed.sql"

say() { echo "postgres.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------ binaries

find_bindir() {
  local p d
  if p="$(command -v pg_ctl 2>/dev/null)" && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$p")"
    return 0
  fi
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then
    echo "$d"
    return 0
  fi
  return 1
}

cmd_install() {
  if BINDIR="$(find_bindir)"; then
    say "using the installed PostgreSQL in $BINDIR ($("$BINDIR/pg_ctl" --version))"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed (no pg_ctl/initdb on PATH or in /usr/lib/postgresql/*/bin) and this is not root: install it (e.g. apt-get install postgresql)"
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and there is no apt-get to install it"
  say "PostgreSQL is not installed: apt-get update && apt-get install -y postgresql (once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  BINDIR="$(find_bindir)" || die "apt-get installed postgresql, but pg_ctl/initdb are still not found"
  say "installed $("$BINDIR/pg_ctl" --version) in $BINDIR"
}

# ------------------------------------------------------------------ running as a plain user

RUN_USER=""
pick_user() {
  if [ "$(id -u)" -ne 0 ]; then RUN_USER=""; return; fi
  if id postgres >/dev/null 2>&1; then RUN_USER=postgres; else RUN_USER=nobody; fi
}

as_pg() {
  if [ -z "$RUN_USER" ]; then "$@"
  elif command -v runuser >/dev/null 2>&1; then runuser -u "$RUN_USER" -- "$@"
  else su -s /bin/sh "$RUN_USER" -c "$(printf '%q ' "$@")"
  fi
}

# The data folder: $BASE, owned by the user that runs the server. When that user cannot reach
# it (a checkout under /root, mode 0700), a folder under /tmp named after the port instead.
DIR=""
pick_dir() {
  DIR="$BASE"
  mkdir -p "$DIR"
  if [ -n "$RUN_USER" ]; then
    chown "$RUN_USER" "$DIR"
    if ! as_pg test -w "$DIR" 2>/dev/null; then
      DIR="${TMPDIR:-/tmp}/connector-host-interop-pg-$PORT"
      say "the user $RUN_USER cannot reach $BASE (a parent folder is private): the data goes to $DIR instead"
      mkdir -p "$DIR"
      chown "$RUN_USER" "$DIR"
      chmod 0700 "$DIR"
    fi
  fi
}

setup() {
  BINDIR="$(find_bindir)" || die "PostgreSQL is not installed: run scripts/postgres.sh install (or start)"
  pick_user
  pick_dir
  DATA="$DIR/data"
  LOG="$DIR/postgres.log"
}

running() { as_pg "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

psql_run() {
  local psql="$BINDIR/psql"
  [ -x "$psql" ] || psql="$(command -v psql)" || die "psql not found"
  PGPASSWORD="$PGPASSWORD_VALUE" PGOPTIONS="-c client_min_messages=warning" "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" "$@"
}

# ------------------------------------------------------------------ commands

cmd_start() {
  cmd_install
  setup
  if [ ! -f "$DATA/PG_VERSION" ]; then
    say "initdb: a new cluster in $DATA${RUN_USER:+ (as the user $RUN_USER)}"
    rm -rf "$DATA"
    local pw="$DIR/.pwfile"
    printf '%s\n' "$PGPASSWORD_VALUE" >"$pw"
    [ -z "$RUN_USER" ] || chown "$RUN_USER" "$pw"
    chmod 0600 "$pw"
    as_pg "$BINDIR/initdb" -D "$DATA" -U "$PGUSER_NAME" --pwfile="$pw" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1 \
      || as_pg "$BINDIR/initdb" -D "$DATA" -U "$PGUSER_NAME" --pwfile="$pw" --auth=scram-sha-256 -E UTF8 --locale=C >&2
    rm -f "$pw"
    cat >>"$DATA/postgresql.conf" <<EOF

# connector-host interop (scripts/postgres.sh)
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
timezone = 'UTC'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 30
EOF
  fi
  if running; then
    say "already running (data $DATA, 127.0.0.1:$PORT): left as it is"
  else
    if "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
      die "another server already listens on 127.0.0.1:$PORT (not the one in $DATA); stop it or set INTEROP_PG_PORT"
    fi
    say "starting PostgreSQL on 127.0.0.1:$PORT (data $DATA, log $LOG)"
    as_pg "$BINDIR/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 >/dev/null || { tail -n 20 "$LOG" >&2 || true; die "pg_ctl start failed"; }
  fi
  if [ -z "$(psql_run -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PGDB'")" ]; then
    say "creating the database $PGDB"
    psql_run -d postgres -c "CREATE DATABASE $PGDB"
  fi
  cmd_seed
  say "ready: host=127.0.0.1 port=$PORT user=$PGUSER_NAME database=$PGDB"
}

cmd_seed() {
  [ -n "${DATA:-}" ] || setup
  say "seeding $PGDB from scripts/pg-seed.sql (schema shop reset to its initial rows)"
  psql_run -d "$PGDB" -f "$SEED" >/dev/null
}

cmd_sql() {
  setup
  psql_run -d "$PGDB" -tA -c "$1"
}

cmd_status() {
  setup
  if running; then say "running (data $DATA, 127.0.0.1:$PORT)"; return 0; fi
  say "not running (data $DATA)"
  return 3
}

cmd_stop() {
  setup
  if running; then
    say "stopping PostgreSQL (data $DATA)"
    as_pg "$BINDIR/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >/dev/null
  else
    say "not running: nothing to stop"
  fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  seed) cmd_seed ;;
  sql) [ $# -eq 2 ] || die "usage: postgres.sh sql 'SQL'"; cmd_sql "$2" ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  *) die "usage: postgres.sh install|start|seed|sql SQL|status|stop" ;;
esac
