#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL server on 127.0.0.1.
#
#   scripts/with_postgres.sh COMMAND [ARGS...]
#
# Installs PostgreSQL from the OS packages when it is missing (apt), creates a cluster in a temp
# folder owned by a non-root user, starts it on a free loopback port (trust auth, loopback and
# a private socket folder only), runs COMMAND with
#   EVOSPIKENET_TEST_DATABASE_URL=postgresql+psycopg://evospikenet@127.0.0.1:PORT/postgres
# (the server's tests then give every server a fresh database there), stops the cluster, removes
# the folder and exits with COMMAND's status. Also installs psycopg into .venv if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 1 ]] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

PYTHON="${PYTHON:-.venv/bin/python}"
[[ -x "$PYTHON" ]] || PYTHON=python3

find_pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/pg_ctl" ]] && { echo "$dir"; return 0; }
  done
  return 1
}

if ! PG_BIN="$(find_pg_bin)"; then
  echo "with_postgres: installing PostgreSQL from the OS packages" >&2
  SUDO=""; [[ "$(id -u)" == "0" ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  PG_BIN="$(find_pg_bin)"
fi
# Debian's package starts its own cluster on port 5432; ours is separate and leaves it alone.

if ! "$PYTHON" -c "import psycopg" 2>/dev/null; then
  echo "with_postgres: installing psycopg[binary] into the virtualenv" >&2
  "$PYTHON" -m pip install -q "psycopg[binary]>=3.1"
fi

# PostgreSQL refuses to run as root: use the package's 'postgres' user when we are root.
RUN_AS=()
if [[ "$(id -u)" == "0" ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  RUN_AS=(runuser -u postgres --)
fi

WORK="$(mktemp -d /tmp/evospikenet-pg.XXXXXX)"
chmod 700 "$WORK"
[[ ${#RUN_AS[@]} -eq 0 ]] || chown postgres "$WORK"
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

cleanup() {
  "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$WORK/data" -U evospikenet -A trust --no-sync -E UTF8 >/dev/null
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK -c fsync=off -c max_connections=300" \
  start >/dev/null

export EVOSPIKENET_TEST_DATABASE_URL="postgresql+psycopg://evospikenet@127.0.0.1:$PORT/postgres"
echo "with_postgres: PostgreSQL on 127.0.0.1:$PORT" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
