#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a new
# temporary folder as the postgres user, pg_ctl on a free loopback port
# (fsync off: nothing here needs to survive a crash of the machine).
#   scripts/pg-cluster.sh start        starts one; prints its folder and its
#                                      base URL postgresql://postgres@127.0.0.1:PORT
#   scripts/pg-cluster.sh stop DIR     stops it and removes the folder
#   scripts/pg-cluster.sh run CMD...   starts one, runs CMD with
#                                      PRAVESH_TEST_PG_URL set to its base URL
#                                      (append /DBNAME), stops it afterwards,
#                                      also when CMD fails or is interrupted;
#                                      exits with CMD's status
# Needs root (to act as the postgres user) or to be the postgres user.
set -euo pipefail
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "pg-cluster: PostgreSQL server binaries not found (install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  local d port
  d=$(mktemp -d /tmp/pravesh-pg-XXXXXX)
  chmod 0755 "$d"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$d"
  as_pg "$PGBIN/initdb" -D "$d/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$d/initdb.log" 2>&1 || { cat "$d/initdb.log" >&2; rm -rf "$d"; return 1; }
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_pg "$PGBIN/pg_ctl" -D "$d/data" -l "$d/log" -w -t 60 -o \
      "-p $port -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB" \
      start >/dev/null 2>&1; then
      echo "postgresql://postgres@127.0.0.1:$port" >"$d/url"
      echo "$d postgresql://postgres@127.0.0.1:$port"
      return 0
    fi
  done
  cat "$d/log" >&2 || true
  rm -rf "$d"
  return 1
}

stop() {
  local d=$1
  case "$d" in /tmp/pravesh-pg-*) ;; *) echo "pg-cluster: not a cluster folder: $d" >&2; return 1 ;; esac
  [ -d "$d/data" ] && as_pg "$PGBIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$d"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:?folder}" ;;
  run)
    shift
    read -r dir url < <(start) || true
    [ -n "${url:-}" ] || { echo "pg-cluster: could not start PostgreSQL" >&2; exit 1; }
    trap 'stop "$dir"' EXIT
    trap 'exit 130' INT TERM
    echo "pg-cluster: PostgreSQL for the tests at $url" >&2
    set +e
    PRAVESH_TEST_PG_URL=$url "$@"
    rc=$?
    exit $rc
    ;;
  *) echo "usage: $0 start | stop DIR | run CMD..." >&2; exit 2 ;;
esac
