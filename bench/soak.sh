#!/usr/bin/env bash
# Soak test (issue 12; not in make test): MINUTES (default 30) of mixed
# traffic at about half of the server's capacity, measured first in the same
# run (bench/soak.mjs): searches, OTP logins, registrations, requests
# decided by the SPV administrator, MDO lists and small bulk uploads. Every
# minute it records the server's RSS and open files, p50/p99 per step and
# the errors (bench/out/soak.tsv), and draws them (bench/out/soak.png) so
# that a leak or a slow drift shows at a glance.
# Usage: [SOAK_REJECT_ALL=1] bench/soak.sh [MINUTES] [RATE flows/s, instead of half the capacity]
# (SOAK_REJECT_ALL=1: every request rejected, the directory never grows)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-30}
RATE=${2:-}
USERS=5000
scripts/install-deps.sh bench
scripts/npm-deps.sh
make --no-print-directory build/pravesh >/dev/null
out=bench/out; mkdir -p "$out"
d=$(mktemp -d)
export PRAVESH_DATA_DIR=$d PRAVESH_DB=sqlite:$d/p.db PRAVESH_LOG=warn \
  PRAVESH_SMS=file:$d/sms.jsonl PRAVESH_MAIL=file:$d/mail.jsonl \
  PRAVESH_OTP_RESEND=0 PRAVESH_OTP_PER_HOUR=1000000000 PRAVESH_OTP_PER_DAY=1000000000 \
  PRAVESH_OTP_PER_IP_HOUR=1000000000 PRAVESH_OTP_NUMBER_PER_HOUR=1000000000 \
  PRAVESH_OTP_NUMBER_PER_DAY=1000000000 PRAVESH_ANON_PER_IP_HOUR=1000000000 \
  PRAVESH_LOGIN_FAIL_PER_IP_HOUR=1000000000 PRAVESH_SESSION_IDLE=86400 \
  PRAVESH_MAX_CONN_PER_IP=0 PRAVESH_METRICS_LISTEN=127.0.0.1:18091
build/pravesh orgs load data/orgs.csv >/dev/null
build/pravesh positions load data/positions.csv >/dev/null
for a in "spv soak.spv 6000000701" "mdo soak.mdo 6000000702"; do
  set -- $a
  echo 'a long enough password' | build/pravesh admin create --role "$1" --username "$2" --org d-doj \
    --first-name Soak --last-name Admin --email "$2@doj.gov.in" --mobile "$3" >/dev/null
done
# USERS active users to log in (set-up only, written straight into the store)
sqlite3 "$d/p.db" "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $USERS - 1)
  INSERT INTO users (id, first_name, last_name, email, official_email, mobile, org_id, position_id,
                     status, source, created_at, updated_at)
  SELECT 'soak-' || i, 'Soak', 'User', 'soak' || i || '@example.com', 0, printf('9%09d', i), 'd-doj',
         NULL, 'active', 'bulk', 0, 0 FROM c;"
PORT=18090
build/pravesh serve --listen 127.0.0.1:$PORT 2>"$out/soak-serve.log" >/dev/null &
SP=$!
trap 'kill $SP 2>/dev/null; wait $SP 2>/dev/null; rm -rf "$d"' EXIT
for i in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
SOAK_USERS=$USERS SOAK_METRICS=http://127.0.0.1:18091/metrics node bench/soak.mjs "http://127.0.0.1:$PORT" "$d/sms.jsonl" "$SP" "$out/soak.tsv" "$MINUTES" $RATE

# the chart: memory and open files; latency of the main steps; errors
gnuplot <<EOF
set terminal pngcairo size 1200,1000 font ",10"
set output "$out/soak.png"
set datafile separator "\t"
set key autotitle columnhead outside right
set grid
set multiplot layout 3,1 title "Pravesh soak: $MINUTES minutes of mixed traffic at about half of capacity"
set title "Memory and open files"
set xlabel "minute"
set ylabel "RSS (MiB)"
set y2label "open files"
set ytics nomirror
set y2tics
plot "$out/soak.tsv" using 1:(\$2/1024) with linespoints title "RSS (MiB)", \
     "" using 1:(column("heap_in_use_kib")/1024) with linespoints title "heap in use (MiB)", \
     "" using 1:(column("heap_free_kib")/1024) with linespoints title "heap free, held (MiB)", \
     "" using 1:(column("sqlite_kib")/1024) with linespoints title "SQLite (MiB)", \
     "" using 1:3 axes x1y2 with linespoints title "open files"
unset y2tics
unset y2label
set title "Latency per step (ms, log scale)"
set ylabel "ms"
set logscale y
plot "$out/soak.tsv" using 1:"orgs_search_p50" with lines title "search p50", \
     "" using 1:"orgs_search_p99" with lines title "search p99", \
     "" using 1:"auth_otp_p99" with lines title "OTP login p99", \
     "" using 1:"registrations_p99" with lines title "registration p99", \
     "" using 1:"admin_decide_p99" with lines title "SPV decision p99", \
     "" using 1:"uploads_create_p99" with lines title "upload p99", \
     "" using 1:"mdo_users_p99" with lines title "MDO list p99"
unset logscale y
set title "Flows started and errors per minute"
set ylabel "flows"
set y2label "errors"
set y2tics
set yrange [0:*]
set y2range [0:*]
plot "$out/soak.tsv" using 1:4 with linespoints title "flows", \
     "" using 1:5 axes x1y2 with linespoints title "errors"
unset multiplot
EOF
echo "soak: $out/soak.tsv, chart $out/soak.png"
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
  NR == 2 { r0 = $2; f0 = $3; s0 = $c["sqlite_kib"]; u0 = $c["heap_in_use_kib"] }
  NR > 1 { e += $5; n += $4; r = $2; f = $3; s = $c["sqlite_kib"]; u = $c["heap_in_use_kib"]; h = $c["heap_free_kib"] }
  END { printf "RSS %.1f -> %.1f MiB, open files %d -> %d, %d flows, %d errors\n", r0/1024, r/1024, f0, f, n, e
        printf "heap in use %.1f -> %.1f MiB (SQLite %.1f -> %.1f MiB, the rest %.1f -> %.1f MiB), free held at the end %.1f MiB\n",
          u0/1024, u/1024, s0/1024, s/1024, (u0 - s0)/1024, (u - s)/1024, h/1024 }' "$out/soak.tsv"
