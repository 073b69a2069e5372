#!/usr/bin/env bash
# bench/slowhttp.sh: slow clients against a running Pravesh, the way a
# security review tried it (issue 11): Debian's slowhttptest with 6,000
# connections from one address in each mode (slow headers, slow bodies,
# slow reads), while another address asks for /healthz twice a second.
# Prints, per mode, how many health checks answered, the slowest and the
# median, and what slowhttptest saw. Not a test: run it alone.
# Needs: slowhttptest, curl (`apt-get install slowhttptest curl`).
# Usage: [SECONDS=60] [CONNS=6000] bench/slowhttp.sh
set -euo pipefail
SECONDS_PER_MODE=${SECONDS:-60}
CONNS=${CONNS:-6000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PRAVESH_BIN:-$ROOT/build/pravesh}
W=$(mktemp -d "${TMPDIR:-/tmp}/pravesh-slow-XXXXXX")
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null; rm -rf "$W"' EXIT
command -v slowhttptest >/dev/null || { echo "install slowhttptest first" >&2; exit 2; }
ulimit -n 65536 || true
PRAVESH_DATA_DIR=$W PRAVESH_DB=sqlite:$W/p.db "$BIN" orgs load "$ROOT/data/orgs.csv" >/dev/null
PRAVESH_DATA_DIR=$W PRAVESH_DB=sqlite:$W/p.db PRAVESH_LISTEN=127.0.0.1:0 PRAVESH_LOG=warn \
	PRAVESH_WEB_ROOT=$ROOT/web PRAVESH_TEMPLATES=$ROOT/templates "$BIN" serve > "$W/out" 2> "$W/err" &
SRV=$!
for _ in $(seq 100); do grep -q "serving on" "$W/out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.]*:[0-9]*' "$W/out" | head -1)
echo "server $URL; $CONNS connections from 127.0.0.1 per mode, /healthz from 127.0.0.2"
for mode in H B X; do
	case $mode in
		H) name="slow headers"; args=(-H -i 10 -r 500 -s 8192) ;;
		B) name="slow bodies"; args=(-B -i 10 -r 500 -s 8192) ;;
		X) name="slow reads"; args=(-X -r 500 -w 1 -y 2 -n 5 -z 32 -k 3 -u "$URL/js/ui.js") ;;
	esac
	[ "$mode" = X ] || args+=(-u "$URL/api/v1/otp")
	slowhttptest -c "$CONNS" "${args[@]}" -l "$SECONDS_PER_MODE" -t POST -o "$W/slow-$mode" > "$W/slow-$mode.txt" 2>&1 &
	ATT=$!
	sleep 5
	: > "$W/health-$mode"
	end=$((SECONDS_PER_MODE - 10))
	for _ in $(seq $((end * 2))); do
		curl -s -o /dev/null --max-time 10 --interface 127.0.0.2 -w '%{http_code} %{time_total}\n' "$URL/healthz" >> "$W/health-$mode" || echo "000 10" >> "$W/health-$mode"
		sleep 0.5
	done
	wait $ATT || true
	ok=$(awk '$1==200' "$W/health-$mode" | wc -l)
	all=$(wc -l < "$W/health-$mode")
	max=$(sort -k2 -n "$W/health-$mode" | tail -1 | awk '{print $2}')
	med=$(sort -k2 -n "$W/health-$mode" | awk '{a[NR]=$2} END {print a[int((NR+1)/2)]}')
	conn=$(grep -Eo 'connected:[[:space:]]+[0-9]+' "$W/slow-$mode.txt" | tail -1 | tr -s ' \t' ' ' || true)
	echo "$name: /healthz $ok/$all answered, median ${med}s, slowest ${max}s; slowhttptest last $conn"
done
grep -c '' "$W/err" | xargs -I{} echo "server log lines during the run: {}"
