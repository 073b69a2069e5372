#!/usr/bin/env bash
# Users of a large organisation (issue 13): N users (default 1,000,000) in
# one organisation (d-doj) and N/10 in others, written straight into the
# benchmark's own store, then GET /api/v1/mdo/users by its MDO administrator,
# each kind of query for a few seconds on one connection (wrk): the list,
# the list of one status, an exact mobile number, an exact e-mail, a name
# (word prefixes), a deep page (page 40,000 of 20) by cursor and by page
# number. In the same run the reference: GET /api/v1/me, a session and a
# user found by their primary keys, through the same server. Prints p50 and
# p99 of each, and each p50 over the reference's. Goal: every kind under
# 20 ms.
# Usage: bench/users.sh [--postgres] [N] [SECONDS]  (USERS_KEEP=DIR: see below)
set -euo pipefail
cd "$(dirname "$0")/.."
PG=0
if [ "${1:-}" = "--postgres" ]; then PG=1; shift; fi
N=${1:-1000000}
SECS=${2:-5}
scripts/install-deps.sh bench
make --no-print-directory build/pravesh >/dev/null
out=bench/out; mkdir -p "$out"
d=$(mktemp -d)
pgdir=""
cleanup() {
  kill ${PP:-} 2>/dev/null || true
  [ -z "$pgdir" ] || scripts/pg-cluster.sh stop "$pgdir"
  rm -rf "$d"
}
trap cleanup EXIT
export PRAVESH_DATA_DIR=$d PRAVESH_DB=sqlite:$d/p.db PRAVESH_LOG=warn PRAVESH_MAIL=log PRAVESH_SMS=log \
  PRAVESH_ADMIN_SECOND_FACTOR=off PRAVESH_PASSWORD_FAIL_PER_IP_HOUR=1000000 PRAVESH_MAX_CONN_PER_IP=1000
M=$((N / 10))
# the generated people: first and last names from short lists, so that a
# name search finds many (as in a real organisation); statuses 94% active
FIRST='"Ram","Sita","Amit","Priya","Rahul","Anita","Suresh","Kavita","Rajesh","Sunita","Vijay","Meena","Arun","Pooja","Sanjay","Rekha","Anil","Neha","Manoj","Asha"'
LAST='"Kumar","Sharma","Singh","Verma","Gupta","Yadav","Patel","Das","Reddy","Nair","Iyer","Joshi","Mishra","Khan","Bose","Rao","Pillai","Chauhan","Mehta","Jain"'
# the columns of user i (SQL over i; name(list, index) picks from a list)
cols() {
  echo "'u' || i, $(name "$FIRST" "i % 20"), $(name "$LAST" "(i / 20) % 20"), 'user' || i || '@example.gov.in', 1,
    '9' || $(pad9 i), '$3', NULL,
    CASE WHEN i % 50 = 0 THEN 'inactive' WHEN i % 17 = 0 THEN 'pending_activation' ELSE 'active' END,
    'bulk', 1700000000000 + i, 1700000000000 + i, i - $1 + 1"
}
INS="INSERT INTO users (id, first_name, last_name, email, official_email, mobile, org_id, position_id,
  status, source, created_at, updated_at, org_seq)"
t0=$(date +%s)
if [ "$PG" = 1 ]; then
  read -r pgdir pgurl < <(scripts/pg-cluster.sh start)
  psql "$pgurl/postgres" -qAtX -c "CREATE DATABASE bench"
  export PRAVESH_DB=$pgurl/bench
  build/pravesh orgs load data/orgs.csv >/dev/null
  name() { echo "(ARRAY[$(echo "$1" | tr '"' "'")])[1 + $2]"; }
  pad9() { echo "lpad($1::text, 9, '0')"; }
  # as user_insert_batch does (pg_schema.c migration 6): the row triggers
  # off for the transaction, the users list's tables written once (the
  # triggers, each user's updating the same two rows, took minutes a
  # hundred thousand users)
  for part in "0 $N d-doj" "$N $M d-dopt"; do
    set -- $part
    psql "$PRAVESH_DB" -qAtX -v ON_ERROR_STOP=1 -1 -c "SELECT set_config('pravesh.batch', 'on', true)" \
      -c "$INS SELECT $(cols "$@") FROM generate_series($1, $1 + $2 - 1) i" \
      -c "INSERT INTO user_orgs SELECT '$3', $2" \
      -c "INSERT INTO user_counts SELECT org_id, status, count(*) FROM users WHERE org_id = '$3' GROUP BY 1, 2" >/dev/null
  done
  psql "$PRAVESH_DB" -qAtX -c "VACUUM ANALYZE" >/dev/null
else
  build/pravesh orgs load data/orgs.csv >/dev/null
  name() { echo "json_extract('[$1]', '\$[' || ($2) || ']')"; }
  pad9() { echo "substr('000000000' || $1, -9, 9)"; }
  for part in "0 $N d-doj" "$N $M d-dopt"; do
    set -- $part
    sqlite3 "$d/p.db" "WITH RECURSIVE c(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM c WHERE i < $1 + $2 - 1)
      $INS SELECT $(cols "$@") FROM c"
  done
  sqlite3 "$d/p.db" "ANALYZE"
fi
echo "store: $N users in d-doj, $M in d-dopt, written in $(( $(date +%s) - t0 )) s"
# USERS_KEEP=DIR keeps a copy of the SQLite store (to study a query)
[ -z "${USERS_KEEP:-}" ] || [ "$PG" = 1 ] || { mkdir -p "$USERS_KEEP"; cp "$d/p.db" "$USERS_KEEP/"; }
printf 'bench-admin-password-1\n' | build/pravesh admin create --role mdo --username benchadmin --org d-doj \
  --first-name Bench --last-name Admin --email benchadmin@example.gov.in --mobile 8999999999 >/dev/null
PORT=18085
build/pravesh serve --listen 127.0.0.1:$PORT --workers 2 >/dev/null 2>"$out/users-serve.log" &
PP=$!
for i in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
token=$(curl -sf -H 'content-type: application/json' -d '{"username":"benchadmin","password":"bench-admin-password-1"}' \
  "http://127.0.0.1:$PORT/api/v1/auth/password" | sed 's/.*"token":"\([^"]*\)".*/\1/')
base="http://127.0.0.1:$PORT"
api="$base/api/v1/mdo/users"
get() { curl -sf -H "Authorization: Bearer $token" "$1"; }
# the deep page: page 40,000 of 20 (at a million) by number, and its cursor
# from the page before it
deep=$((N * 4 / 100)) # 40,000 at a million
cursor=$(get "$api?page=$((deep - 1))&per_page=20" | sed 's/.*"next":"\([^"]*\)".*/\1/')
a=$(get "$api?page=$deep&per_page=20" | sed 's/"page":[^,]*,//')
b=$(get "$api?after=$cursor&per_page=20" | sed 's/"page":[^,]*,//')
[ "$a" = "$b" ] || { echo "page $deep by number and by cursor differ" >&2; exit 1; }
echo "total: $(get "$api?per_page=1" | sed 's/.*"total":\([0-9]*\).*/\1/') users listed in d-doj"

# one wrk run per kind; the Lua script rotates through its paths
kind() { # name path...
  local name=$1; shift
  { echo "local paths = {"; for p in "$@"; do echo "  \"$p\","; done; echo "}"
    echo 'local i = 0'
    echo "request = function() i = i + 1; return wrk.format('GET', paths[(i % #paths) + 1], {['Authorization'] = 'Bearer $token'}) end"
    echo 'response = function(status) if status ~= 200 then error("status " .. status) end end'
  } > "$out/users-$name.lua"
  wrk -t1 -c1 -d"${SECS}s" --latency -s "$out/users-$name.lua" "$base" > "$out/users-$name.txt"
}
ms() { awk -v q="$1" '$1==q {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'; }
mob() { for i in 17 123457 456789 777777 999998 314159 271828 500001; do printf '9%09d ' "$i"; done; }
kind reference /api/v1/me
kind list "/api/v1/mdo/users"
kind list_status "/api/v1/mdo/users?status=inactive" "/api/v1/mdo/users?status=pending_activation"
kind mobile $(for m in $(mob); do echo "/api/v1/mdo/users?q=$m"; done)
kind email $(for i in 17 123457 456789 777777 999998 314159 271828 500001; do echo "/api/v1/mdo/users?q=USER$i%40example.gov.in"; done)
kind name "/api/v1/mdo/users?q=ram" "/api/v1/mdo/users?q=sita%20ku" "/api/v1/mdo/users?q=priya%20sharma" \
  "/api/v1/mdo/users?q=a" "/api/v1/mdo/users?q=sun" "/api/v1/mdo/users?q=meena%20j" "/api/v1/mdo/users?q=rahul%20nair" \
  "/api/v1/mdo/users?q=k&status=active"
kind deep_cursor "/api/v1/mdo/users?after=$cursor&per_page=20"
kind deep_page "/api/v1/mdo/users?page=$deep&per_page=20"
kind reference2 /api/v1/me
r50=$(echo "($(ms 50% < "$out/users-reference.txt") + $(ms 50% < "$out/users-reference2.txt")) / 2" | bc -l)
r99=$(echo "($(ms 99% < "$out/users-reference.txt") + $(ms 99% < "$out/users-reference2.txt")) / 2" | bc -l)
printf '%-26s %9s %9s %9s\n' "query ($([ $PG = 1 ] && echo postgres || echo sqlite))" "p50 ms" "p99 ms" "p50/ref"
printf '%-26s %9.2f %9.2f %9s\n' "reference (GET /me, keys)" "$r50" "$r99" "1"
for k in list list_status mobile email name deep_cursor deep_page; do
  p50=$(ms 50% < "$out/users-$k.txt"); p99=$(ms 99% < "$out/users-$k.txt")
  printf '%-26s %9.2f %9.2f %9.1f\n' "$k" "$p50" "$p99" "$(echo "$p50 / $r50" | bc -l)"
done
echo "goal: every kind under 20 ms"
