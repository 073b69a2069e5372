#!/usr/bin/env bash
# Search benchmark (issue 2): 100,000 generated organisations in 4 levels,
# wrk at 64 connections against GET /api/v1/orgs?q=... with rotating
# queries, and in the same run against a hello-world libmicrohttpd server
# built in the same mode (the floor). Prints both requests/s, both p99
# latencies and the ratio. Goals (issue 13): search >= 70% of the floor,
# p99 < 5 ms. PERF=1 also profiles the server during the search run.
# TAIL=1 then looks at the p99 (issue 13): the floor again answering a body
# of the search answers' mean size (is it the size of the answers?), and
# the search again with one server thread instead of two (is it the four
# busy threads, wrk's two and the server's two, on the machine's cores?).
# Usage: bench/search.sh [N_ORGS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
SECS=${2:-10}
CONNS=64
scripts/install-deps.sh bench
make --no-print-directory build/pravesh >/dev/null
out=bench/out; mkdir -p "$out"
cc -O2 -o "$out/hello" bench/hello.c $(pkg-config --cflags --libs libmicrohttpd)
python3 bench/gen_orgs.py "$N" > "$out/orgs.csv"
d=$(mktemp -d)
export PRAVESH_DATA_DIR=$d PRAVESH_DB=sqlite:$d/p.db PRAVESH_LOG=warn PRAVESH_MAIL=log PRAVESH_SMS=log
t0=$(date +%s.%N)
build/pravesh orgs load "$out/orgs.csv" >/dev/null
t1=$(date +%s.%N)
echo "loaded $N organisations in $(echo "$t1 - $t0" | bc) s"

PORT_P=18080; PORT_H=18081
build/pravesh serve --listen 127.0.0.1:$PORT_P --workers 2 >/dev/null 2>"$out/serve.log" &
PP=$!
"$out/hello" $PORT_H 2 >/dev/null &
HP=$!
trap 'kill $PP $HP 2>/dev/null; rm -rf "$d"' EXIT
# waits up to 10 s until every URL answers; stops the script if one does not
wait_up() {
  local u
  for u in "$@"; do
    for _ in $(seq 100); do curl -sf "$u" >/dev/null && continue 2; sleep 0.1; done
    echo "search.sh: $u did not answer (see $out/serve.log)" >&2; exit 1
  done
}
wait_up "http://127.0.0.1:$PORT_P/healthz"
curl -sf "http://127.0.0.1:$PORT_P/api/v1/orgs?q=justice&limit=3" | head -c 300; echo

run() { # url [script]
  if [ -n "${2:-}" ]; then wrk -t2 -c$CONNS -d${SECS}s --latency -s "$2" "$1"; else wrk -t2 -c$CONNS -d${SECS}s --latency "$1"; fi
}
rps() { awk '/^Requests\/sec/ {print $2}'; }
p99() { awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'; }

run "http://127.0.0.1:$PORT_H/" > "$out/hello.txt"
if [ "${PERF:-0}" = 1 ]; then perf record -F 999 -g -p $PP -o "$out/search.perf" 2>/dev/null & PERFP=$!; fi
run "http://127.0.0.1:$PORT_P" bench/queries.lua > "$out/search.txt"
[ -z "${PERFP:-}" ] || { kill -INT $PERFP; wait $PERFP 2>/dev/null || true; }
# the floor again, so that noise on a shared machine shows
run "http://127.0.0.1:$PORT_H/" > "$out/hello2.txt"

h1=$(rps < "$out/hello.txt"); h2=$(rps < "$out/hello2.txt"); s=$(rps < "$out/search.txt")
hp=$(p99 < "$out/hello.txt"); sp=$(p99 < "$out/search.txt")
errs=$(grep -E 'Non-2xx|Socket errors' "$out/search.txt" || true)
floor=$(echo "($h1 + $h2) / 2" | bc -l)
printf 'floor (hello world): %.0f req/s (runs %.0f and %.0f), p99 %.2f ms\n' "$floor" "$h1" "$h2" "$hp"
printf 'search:              %.0f req/s, p99 %.2f ms %s\n' "$s" "$sp" "$errs"
printf 'ratio search/floor:  %.2f (goal >= 0.70); p99 goal < 5 ms\n' "$(echo "$s / $floor" | bc -l)"
if [ "${TAIL:-0}" = 1 ]; then
  # the answers' sizes, one query of bench/queries.lua's rotation each
  bytes=0; nq=0; maxb=0
  while read -r q; do
    b=$(curl -sf -o /dev/null -w '%{size_download}' "http://127.0.0.1:$PORT_P/api/v1/orgs?q=$q") ||
      { echo "search.sh: the query $q failed" >&2; exit 1; }
    bytes=$((bytes + b)); nq=$((nq + 1)); [ "$b" -le "$maxb" ] || maxb=$b
  done < <(sed -n '/^local qs/,/}/p' bench/queries.lua | grep -o '"[^"]*"' | tr -d '"')
  [ "$nq" -gt 0 ] || { echo "search.sh: no query found in bench/queries.lua" >&2; exit 1; }
  size=$((bytes / nq))
  kill $HP; wait $HP 2>/dev/null || true
  "$out/hello" $PORT_H 2 $size >/dev/null &
  HP=$!
  kill $PP; wait $PP 2>/dev/null || true
  build/pravesh serve --listen 127.0.0.1:$PORT_P --workers 1 >/dev/null 2>>"$out/serve.log" &
  PP=$!
  wait_up "http://127.0.0.1:$PORT_P/healthz" "http://127.0.0.1:$PORT_H/"
  run "http://127.0.0.1:$PORT_H/" > "$out/hello-big.txt"
  run "http://127.0.0.1:$PORT_P" bench/queries.lua > "$out/search-one.txt"
  printf 'floor, %d-byte body: %.0f req/s, p99 %.2f ms (the search answers: %d bytes on average, %d at most)\n' \
    "$size" "$(rps < "$out/hello-big.txt")" "$(p99 < "$out/hello-big.txt")" "$size" "$maxb"
  printf 'search, one thread:  %.0f req/s, p99 %.2f ms\n' "$(rps < "$out/search-one.txt")" "$(p99 < "$out/search-one.txt")"
fi
[ -z "${PERFP:-}" ] || perf report -i "$out/search.perf" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -v '^#' | grep '%' | head -40
