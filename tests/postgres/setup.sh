#!/usr/bin/env bash
# A real PostgreSQL on loopback for tests/test_postgres.py and the store and CLI tests run
# against it: Debian's postgresql package, a throwaway cluster in one state folder.
#
#   tests/postgres/setup.sh start [STATE]   # initdb, start; prints the export line
#   tests/postgres/setup.sh stop [STATE]
#
# STATE defaults to ${TMPDIR:-/tmp}/showcase-postgres and is wiped on start. The server listens
# on 127.0.0.1 only, on a free port, with its socket in STATE. initdb refuses root: as root the
# cluster belongs to the `postgres` user (Debian's package creates it), or to nobody (65534).
# Tests make a fresh database per test (tests/postgres_support.py). Needs: apt-get install
# postgresql.
set -euo pipefail
COMMAND="${1:-start}"
STATE="${2:-${TMPDIR:-/tmp}/showcase-postgres}"
DATA="$STATE/data"
PASSWORD="showcase-test-password"

bin_dir() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}
BIN="$(bin_dir)"

as_owner() {  # run as the cluster's owner: root may not own it
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  if id -u postgres >/dev/null 2>&1; then runuser -u postgres -- "$@"
  else setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; fi
}

stop() {
  [ -f "$DATA/postmaster.pid" ] || return 0
  as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$COMMAND" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop [STATE]" >&2; exit 2 ;;
esac

[ -n "$BIN" ] && [ -x "$BIN/initdb" ] || { echo "setup.sh: PostgreSQL's initdb is missing" >&2; exit 1; }
command -v python3 >/dev/null || { echo "setup.sh: python3 is missing" >&2; exit 1; }
stop
rm -rf "$STATE"
mkdir -p "$STATE"
started=$(date +%s.%N)
if [ "$(id -u)" -eq 0 ]; then
  if id -u postgres >/dev/null 2>&1; then chown postgres "$STATE"; else chown 65534:65534 "$STATE"; fi
fi
printf '%s\n' "$PASSWORD" >"$STATE/password"
chmod 644 "$STATE/password"
as_owner test -r "$STATE/password" || {
  echo "setup.sh: the cluster's owner cannot reach $STATE (a parent folder is closed to it)" >&2; exit 1; }
as_owner "$BIN/initdb" -D "$DATA" -U showcase --pwfile="$STATE/password" --auth=scram-sha-256 \
  -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log" 2>&1
PORT="$(free_port)"
# Loopback only; durability traded for speed: this cluster is thrown away.
as_owner "$BIN/pg_ctl" -D "$DATA" -l "$STATE/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $STATE -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
seconds=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
echo "export SHOWCASE_POSTGRES_URL=postgresql+psycopg://showcase:$PASSWORD@127.0.0.1:$PORT/postgres" >"$STATE/env"
echo "setup.sh: PostgreSQL ($("$BIN/postgres" --version)) started on 127.0.0.1:$PORT in ${seconds}s" >&2
cat "$STATE/env"
