#!/usr/bin/env bash
# Login benchmark (issue 3): N registered numbers (default 20,000), one login
# code sent to each through the API (codes read from the file: SMS
# transport), then all N OTP logins through wrk at 64 connections. In the
# same run, wrk against a hello-world libmicrohttpd server in the same mode
# (the floor). Prints logins/s, p99 and the ratio to the floor.
#
# --postgres (issue 10): the same logins with the store on PostgreSQL (a
# throwaway cluster, scripts/pg-cluster.sh), and in the same run, on the same
# cluster, pgbench's built-in simple-update script (-N: per transaction an
# UPDATE, a SELECT and an INSERT) at the number of connections Pravesh holds
# to the database while logging in (on PostgreSQL the logins run on the work
# threads, one connection each: PRAVESH_POOL_THREADS, by default 4 per
# core); prints `ratio login/pgbench: X` (goal: 0.5 or more). With
# PERF=1 it also records a profile of the server and prints the statements
# that took the most database time (pg_stat_statements); PERF_HZ sets the
# sampling rate (499) and PERF_G= records without call graphs.
# PRAVESH_BIN=<path> measures that build of the server instead of
# build/pravesh (made here otherwise), e.g. to compare two versions.
# Usage: [PRAVESH_BIN=...] bench/login.sh [--postgres] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
PG=0
if [ "${1:-}" = "--postgres" ]; then PG=1; shift; fi
N=${1:-20000}
CONNS=64
WORKERS=${WORKERS:-2}
# the server's work threads on PostgreSQL (its default), and pgbench's
# connections: the same number
DBCONNS=${PRAVESH_POOL_THREADS:-$((4 * $(getconf _NPROCESSORS_ONLN)))}
scripts/install-deps.sh bench
BIN=${PRAVESH_BIN:-build/pravesh}
[ -n "${PRAVESH_BIN:-}" ] || make --no-print-directory build/pravesh >/dev/null
out=bench/out; mkdir -p "$out"
cc -O2 -o "$out/hello" bench/hello.c $(pkg-config --cflags --libs libmicrohttpd)
d=$(mktemp -d)
pgdir=""
cleanup() {
  kill ${PP:-} ${HP:-} 2>/dev/null || true
  [ -z "$pgdir" ] || scripts/pg-cluster.sh stop "$pgdir"
  rm -rf "$d"
}
trap cleanup EXIT
export PRAVESH_DATA_DIR=$d PRAVESH_DB=sqlite:$d/p.db PRAVESH_LOG=warn PRAVESH_MAIL=log \
  PRAVESH_SMS=file:$d/sms.jsonl PRAVESH_OTP_PER_IP_HOUR=1000000000 PRAVESH_OTP_RESEND=0 \
  PRAVESH_ANON_PER_IP_HOUR=1000000000 PRAVESH_LOGIN_FAIL_PER_IP_HOUR=1000000000 PRAVESH_MAX_CONN_PER_IP=1000 \
  PRAVESH_METRICS_LISTEN=127.0.0.1:18082
# N active users, written straight into the benchmark's own store (set-up
# only: registration through the API would need N e-mail activations)
if [ "$PG" = 1 ]; then
  read -r pgdir pgurl < <(scripts/pg-cluster.sh start)
  # pg_stat_statements needs a restart with the library preloaded
  echo "shared_preload_libraries = 'pg_stat_statements'" >> "$pgdir/data/postgresql.conf"
  runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl" -D "$pgdir/data" -w \
    restart >/dev/null
  psql "$pgurl/postgres" -qAtX -c "CREATE DATABASE bench" -c "CREATE DATABASE pgbench"
  export PRAVESH_DB=$pgurl/bench
  "$BIN" orgs load data/orgs.csv >/dev/null
  psql "$PRAVESH_DB" -qAtX -c "INSERT INTO users (id, first_name, last_name, email, official_email, mobile,
      org_id, position_id, status, source, created_at, updated_at)
    SELECT 'bench-' || i, 'Bench', 'User', 'bench' || i || '@example.com', 0, '9' || lpad(i::text, 9, '0'),
      'd-doj', NULL, 'active', 'bulk', 0, 0 FROM generate_series(0, $N - 1) i" \
    -c "CREATE EXTENSION pg_stat_statements" -c "VACUUM ANALYZE"
else
  "$BIN" orgs load data/orgs.csv >/dev/null
  sqlite3 "$d/p.db" "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $N - 1)
    INSERT INTO users (id, first_name, last_name, email, official_email, mobile, org_id, position_id,
                       status, source, created_at, updated_at)
    SELECT 'bench-' || i, 'Bench', 'User', 'bench' || i || '@example.com', 0, printf('9%09d', i), 'd-doj',
           NULL, 'active', 'bulk', 0, 0 FROM c;"
fi
PORT_P=18080; PORT_H=18081
"$BIN" serve --listen 127.0.0.1:$PORT_P --workers "$WORKERS" >/dev/null 2>"$out/login-serve.log" &
PP=$!
"$out/hello" $PORT_H 2 >/dev/null &
HP=$!
for i in $(seq 100); do curl -sf "http://127.0.0.1:$PORT_P/healthz" >/dev/null && break; sleep 0.1; done
t0=$(date +%s.%N)
node bench/send_codes.mjs "http://127.0.0.1:$PORT_P" "$N" "$d/sms.jsonl" "$out/pairs.txt"
t1=$(date +%s.%N)
printf 'sent %d codes in %.1f s (%.0f/s, delivered through the outbox)\n' "$N" "$(echo "$t1 - $t0" | bc)" "$(echo "$N / ($t1 - $t0)" | bc -l)"

ok() { curl -s "http://127.0.0.1:18082/metrics" | awk -F' ' '/^pravesh_http_requests_total\{route="auth_otp",status="200"\}/ {print $2}'; }
before=$(ok); before=${before:-0}
# pgbench runs just before and just after the logins (15 s each) and the two
# are averaged, so that a machine whose load drifts during the run weighs on
# both sides alike
pgb() { pgbench -N -c "$DBCONNS" -j "$WORKERS" -T 15 -n "$pgurl/pgbench" 2>&1 | awk '/^tps/ {print $3; exit}'; }
if [ "$PG" = 1 ]; then
  pgbench -i -q -s 10 "$pgurl/pgbench" >/dev/null 2>&1
  tps1=$(pgb)
fi
# Sending the codes filled tables that were empty when last analysed; a
# server in steady state has had them analysed by autovacuum (else the
# prepared statements' plans expect empty tables and scan them whole).
[ "$PG" = 1 ] && psql "$PRAVESH_DB" -qAtX -c "VACUUM ANALYZE" -c "SELECT pg_stat_statements_reset()" >/dev/null
if [ "${PERF:-0}" = 1 ]; then perf record -F ${PERF_HZ:-499} ${PERF_G--g} ${PERF_ALL:--p $PP} -o "$out/login.perf" 2>/dev/null & PERFP=$!; fi
# wrk runs for its whole duration even when every thread has stopped, so
# each wrk thread writes the time of its last answer to a file
# (bench/login.lua) and this script waits for the files. The wait is a file
# test every 20 ms: the poll it replaces (curl, awk, bc and date every 20 ms)
# took about 40% of the machine's samples during the logins (perf -a).
rm -f "$out"/login-end-*.txt
wrk -t2 -c$CONNS -d120s --latency -s bench/login.lua "http://127.0.0.1:$PORT_P" -- 2 $CONNS > "$out/login.txt" &
WP=$!
t0=$EPOCHREALTIME
# CPU seconds (user + system) of a process, all its threads
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# the whole machine's busy and total jiffies (/proc/stat: user nice system
# idle iowait irq softirq steal): the kernel's own work for the requests
# (loopback network, writeback of the syncs) is charged to no process
machine() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat; }
# the server's read and write system calls so far (/proc/PID/io: syscr, syscw)
sysrw() { awk '/^sysc[rw]:/ {printf "%s ", $2} END {print ""}' "/proc/$1/io" 2>/dev/null || echo "0 0"; }
cpu_p0=$(cpu $PP); cpu_w0=$(cpu $WP)
read -r sr0 sw0 < <(sysrw $PP)
read -r m_busy0 m_all0 < <(machine)
# done: both threads' files written, or wrk gone (its 120 s are over: a lost
# answer; the count below says how many logins succeeded). No process is
# started meanwhile (each fork costs this VM dearly): the 20 ms pause is a
# read that times out on a pipe nobody writes.
exec {nap}<> <(:)
while { [ ! -s "$out/login-end-0.txt" ] || [ ! -s "$out/login-end-1.txt" ]; } &&
      kill -0 $WP 2>/dev/null; do
  read -r -t 0.02 -u "$nap" _ || true
done
exec {nap}<&-
tend=$EPOCHREALTIME
cpu_p1=$(cpu $PP); cpu_w1=$(cpu $WP)
read -r sr1 sw1 < <(sysrw $PP)
read -r m_busy1 m_all1 < <(machine)
if [ -s "$out/login-end-0.txt" ] && [ -s "$out/login-end-1.txt" ]; then
  t1=$(sort -n "$out"/login-end-[01].txt | tail -1) # the last answer
else
  t1=$tend
fi
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
# what the machine's cores did meanwhile: the two processes, and the whole
# machine (which adds the kernel's work charged to neither: the loopback
# network's and the disk's); a machine near 100% busy is held by work, one
# far below it by the path of a request
printf 'cpu during the logins: server %.2f s, wrk %.2f s, over %.2f s wall (%d cores); machine %.0f%% busy\n' \
  "$(echo "$cpu_p1 - $cpu_p0" | bc -l)" "$(echo "$cpu_w1 - $cpu_w0" | bc -l)" \
  "$secs" "$(nproc)" "$(echo "100 * ($m_busy1 - $m_busy0) / ($m_all1 - $m_all0 + 0.000001)" | bc -l)"
# file reads and writes (pread, pwrite: SQLite's pages and log frames; not
# the sockets' send and recv, nor fdatasync) per login: on this kind of
# virtual machine each system call costs an exit to the hypervisor
printf 'server file system calls per login: %.1f reads, %.1f writes\n' \
  "$(echo "($sr1 - $sr0) / ($logins + 0.000001)" | bc -l)" "$(echo "($sw1 - $sw0) / ($logins + 0.000001)" | bc -l)"
# SQLite: the write-ahead log's file after the logins (the log starts again
# from its beginning once all of it was copied back, and its file is not
# made shorter, so it is as large as the longest log was, since the
# server started: the codes' sending included; bounded at about 165 MB,
# docs/operations.md)
[ "$PG" = 1 ] || printf 'write-ahead log file after the logins: %.1f MB\n' \
  "$(echo "$(stat -c %s "$d/p.db-wal" 2>/dev/null || echo 0) / 1000000" | bc -l)"

if [ "$PG" = 1 ]; then
  psql "$PRAVESH_DB" -qAtX -F ' | ' -c "SELECT calls, round(total_exec_time::numeric, 1) AS ms,
      round((total_exec_time / calls)::numeric, 3) AS ms_per_call, left(regexp_replace(query, '\\s+', ' ', 'g'), 90)
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
      ORDER BY total_exec_time DESC LIMIT 12" > "$out/login-pg-statements.txt"
  # the same cluster, the same number of connections as Pravesh's workers
  tps2=$(pgb)
  tps=$(echo "($tps1 + $tps2) / 2" | bc -l)
  printf 'pgbench: %.0f tps (simple-update, %d connections, same cluster; %.0f before, %.0f after the logins)\n' \
    "$tps" "$DBCONNS" "$tps1" "$tps2"
  printf 'ratio login/pgbench: %.3f (goal: >= 0.5)\n' "$(echo "$lps / $tps" | bc -l)"
  echo "statements by database time during the logins (calls | ms | ms/call | query):"
  cat "$out/login-pg-statements.txt"
fi
[ -z "${PERFP:-}" ] || perf report -i "$out/login.perf" --no-children --sort symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -25
