#!/usr/bin/env bash
# A real WordPress on loopback for tests/test_website_real.py: Debian's wordpress package,
# MariaDB on a socket (no network), PHP's built-in server, all in one state folder.
#
#   tests/wordpress/setup.sh start [STATE]   # install, seed, serve; prints the export lines
#   tests/wordpress/setup.sh stop [STATE]
#
# STATE defaults to ${TMPDIR:-/tmp}/showcase-wordpress and is wiped on start. The same site
# is served twice: with pretty permalinks (/wp-json/), and a copy of its database switched to
# plain permalinks (?rest_route=) on a second port. The showcase-embed plugin (embed/wordpress/)
# is installed and active, reading STATE/docroot/showcase/fragment.html; that folder is served
# at /showcase/ and is where tests/test_embedding.py renders. Needs: apt-get install wordpress
# wordpress-theme-twentytwentythree mariadb-server php-cli php-mysql php-gd.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
COMMAND="${1:-start}"
STATE="${2:-${TMPDIR:-/tmp}/showcase-wordpress}"
WORDPRESS=/usr/share/wordpress
DB="$STATE/db"
SOCKET="$STATE/mysqld.sock"

stop() {
  for pidfile in "$STATE"/php-*.pid "$STATE"/mysqld.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for SECONDS COMMAND...: until the command succeeds
  local tries=$(( $1 * 10 )); shift
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "setup.sh: gave up waiting for: $*" >&2
  return 1
}

start_mariadb() {
  mkdir -p "$DB"
  mariadb-install-db --no-defaults --datadir="$DB" --user="$(id -un)" \
    --auth-root-authentication-method=normal --skip-test-db >"$STATE/install-db.log" 2>&1
  # No TCP at all (--skip-networking); durability traded for speed: this database is thrown away.
  mariadbd --no-defaults --datadir="$DB" --socket="$SOCKET" --skip-networking \
    --pid-file="$STATE/mysqld.pid" --user="$(id -un)" --log-error="$STATE/mysqld.log" \
    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --sync-binlog=0 \
    --innodb-buffer-pool-size=64M --skip-log-bin 2>>"$STATE/mysqld.log" &
  wait_for 30 mariadb-admin --no-defaults --socket="$SOCKET" -uroot ping
  mariadb --no-defaults --socket="$SOCKET" -uroot \
    -e "CREATE DATABASE wordpress CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
}

build_docroot() {
  # WordPress's own files from the package; wp-config.php and wp-content are this site's.
  # wp-load.php finds wp-config.php next to itself (__DIR__ resolves symlinks, so the
  # top-level files are copied, the big folders linked).
  local root="$STATE/docroot"
  mkdir -p "$root/wp-content/uploads" "$root/wp-content/plugins"
  cp "$WORDPRESS"/*.php "$root/"
  cp "$HERE/wp-config.php" "$root/wp-config.php"
  ln -s "$WORDPRESS/wp-admin" "$root/wp-admin"
  ln -s "$WORDPRESS/wp-includes" "$root/wp-includes"
  ln -s "$WORDPRESS/wp-content/themes" "$root/wp-content/themes"
  # The plugin a site copies into wp-content/plugins/, and the showcase's output folder.
  cp -r "$HERE/../../embed/wordpress/showcase-embed" "$root/wp-content/plugins/"
  mkdir -p "$root/showcase"
}

serve() {  # serve NAME PORT PERMALINKS
  SHOWCASE_WORDPRESS_PERMALINKS="$3" php -S "127.0.0.1:$2" -t "$STATE/docroot" \
    "$HERE/router.php" >"$STATE/php-$1.log" 2>&1 &
  echo $! >"$STATE/php-$1.pid"
  wait_for 15 curl -sf -o /dev/null "http://127.0.0.1:$2/wp-login.php"
}

case "$COMMAND" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop [STATE]" >&2; exit 2 ;;
esac

for tool in mariadb-install-db mariadbd php curl python3; do
  command -v "$tool" >/dev/null || { echo "setup.sh: $tool is missing" >&2; exit 1; }
done
[ -f "$WORDPRESS/wp-settings.php" ] || { echo "setup.sh: $WORDPRESS is missing" >&2; exit 1; }
stop
rm -rf "$STATE"
mkdir -p "$STATE"
started=$(date +%s.%N)
start_mariadb
build_docroot
PRETTY_PORT="$(free_port)"
PLAIN_PORT="$(free_port)"
export SHOWCASE_WORDPRESS_HOST="127.0.0.1:$PRETTY_PORT"
php "$HERE/seed.php" "$STATE/docroot" install >"$STATE/seed.log"
php "$HERE/seed.php" "$STATE/docroot" posts >>"$STATE/seed.log"
SHOWCASE_WORDPRESS_EMBED_ORIGIN="http://127.0.0.1:$PLAIN_PORT" \
  php "$HERE/seed.php" "$STATE/docroot" embed >>"$STATE/seed.log"
sql() { mariadb --no-defaults --socket="$SOCKET" -uroot "$@"; }
sql -e "CREATE DATABASE wordpress_plain CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
mariadb-dump --no-defaults --socket="$SOCKET" -uroot wordpress | sql wordpress_plain
SHOWCASE_WORDPRESS_PERMALINKS=plain php "$HERE/seed.php" "$STATE/docroot" plain >>"$STATE/seed.log"
serve pretty "$PRETTY_PORT" pretty
serve plain "$PLAIN_PORT" plain
seconds=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
cat >"$STATE/env" <<ENV
export SHOWCASE_WORDPRESS_URL=http://127.0.0.1:$PRETTY_PORT
export SHOWCASE_WORDPRESS_PLAIN_URL=http://127.0.0.1:$PLAIN_PORT
export SHOWCASE_WORDPRESS_SHOWCASE_DIR=$STATE/docroot/showcase
ENV
echo "setup.sh: WordPress seeded and served in ${seconds}s ($(grep seeded "$STATE/seed.log"))" >&2
cat "$STATE/env"
