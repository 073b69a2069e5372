#!/usr/bin/env bash
# Login benchmark (issue 3): N registered numbers (default 20,000), one login
# code sent to each through the API (codes read from the file: SMS
# transport), then all N OTP logins through wrk at 64 connections. In the
# same run, wrk against a hello-world libmicrohttpd server in the same mode
# (the floor). Prints logins/s, p99 and the ratio to the floor.
# Usage: bench/login.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
CONNS=64
scripts/install-deps.sh bench
make --no-print-directory build/pravesh >/dev/null
out=bench/out; mkdir -p "$out"
cc -O2 -o "$out/hello" bench/hello.c $(pkg-config --cflags --libs libmicrohttpd)
d=$(mktemp -d)
export PRAVESH_DATA_DIR=$d PRAVESH_DB=sqlite:$d/p.db PRAVESH_LOG=warn PRAVESH_MAIL=log \
  PRAVESH_SMS=file:$d/sms.jsonl PRAVESH_OTP_PER_IP_HOUR=1000000000 PRAVESH_OTP_RESEND=0 \
  PRAVESH_ANON_PER_IP_HOUR=1000000000 PRAVESH_LOGIN_FAIL_PER_IP_HOUR=1000000000 PRAVESH_MAX_CONN_PER_IP=1000 \
  PRAVESH_METRICS_LISTEN=127.0.0.1:18082
build/pravesh orgs load data/orgs.csv >/dev/null
# N active users, written straight into the benchmark's own store (set-up
# only: registration through the API would need N e-mail activations)
sqlite3 "$d/p.db" "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $N - 1)
  INSERT INTO users (id, first_name, last_name, email, official_email, mobile, org_id, position_id,
                     status, source, created_at, updated_at)
  SELECT 'bench-' || i, 'Bench', 'User', 'bench' || i || '@example.com', 0, printf('9%09d', i), 'd-doj',
         NULL, 'active', 'bulk', 0, 0 FROM c;"
PORT_P=18080; PORT_H=18081
build/pravesh serve --listen 127.0.0.1:$PORT_P --workers 2 >/dev/null 2>"$out/login-serve.log" &
PP=$!
"$out/hello" $PORT_H 2 >/dev/null &
HP=$!
trap 'kill $PP $HP 2>/dev/null; rm -rf "$d"' EXIT
for i in $(seq 100); do curl -sf "http://127.0.0.1:$PORT_P/healthz" >/dev/null && break; sleep 0.1; done
t0=$(date +%s.%N)
node bench/send_codes.mjs "http://127.0.0.1:$PORT_P" "$N" "$d/sms.jsonl" "$out/pairs.txt"
t1=$(date +%s.%N)
printf 'sent %d codes in %.1f s (%.0f/s, delivered through the outbox)\n' "$N" "$(echo "$t1 - $t0" | bc)" "$(echo "$N / ($t1 - $t0)" | bc -l)"

ok() { curl -s "http://127.0.0.1:18082/metrics" | awk -F' ' '/^pravesh_http_requests_total\{route="auth_otp",status="200"\}/ {print $2}'; }
before=$(ok); before=${before:-0}
if [ "${PERF:-0}" = 1 ]; then perf record -F 499 -g -p $PP -o "$out/login.perf" 2>/dev/null & PERFP=$!; fi
# wrk runs for its whole duration even when every thread has stopped, so the
# time of the logins is taken from the server's own count, polled every 20 ms
wrk -t2 -c$CONNS -d120s --latency -s bench/login.lua "http://127.0.0.1:$PORT_P" -- 2 > "$out/login.txt" &
WP=$!
t0=$(date +%s.%N)
last=-1; tlast=$t0
while :; do
  c=$(ok); c=${c:-0}
  now=$(date +%s.%N)
  if [ "$c" != "$last" ]; then last=$c; tlast=$now; fi
  # done: all logged in, wrk gone, or no progress for a second
  if [ $((c - before)) -ge "$N" ] || ! kill -0 $WP 2>/dev/null || \
     [ "$(echo "$now - $tlast > 1" | bc)" = 1 ]; then break; fi
  sleep 0.02
done
t1=$tlast
kill -INT $WP 2>/dev/null || true
wait $WP 2>/dev/null || true
sleep 0.3 # the last requests are counted when their connection is done with them
after=$(ok)
secs=$(echo "$t1 - $t0" | bc -l)
logins=$((after - before))
lps=$(echo "$logins / $secs" | bc -l)
p99() { awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'; }
[ -z "${PERFP:-}" ] || { kill -INT $PERFP; wait $PERFP 2>/dev/null || true; }
wrk -t2 -c$CONNS -d10s --latency "http://127.0.0.1:$PORT_H/" > "$out/login-hello.txt"
h=$(awk '/^Requests\/sec/ {print $2}' "$out/login-hello.txt")
printf 'logins: %d of %d succeeded in %.2f s\n' "$logins" "$N" "$secs"
printf 'login:  %.0f logins/s, p99 %.2f ms\n' "$lps" "$(p99 < "$out/login.txt")"
printf 'floor:  %.0f req/s (hello world), p99 %.2f ms\n' "$h" "$(p99 < "$out/login-hello.txt")"
printf 'ratio login/floor: %.3f (goal: >= 0.15, p99 < 10 ms)\n' "$(echo "$lps / $h" | bc -l)"
[ -z "${PERFP:-}" ] || perf report -i "$out/login.perf" --no-children --sort symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -25
