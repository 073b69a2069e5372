#!/usr/bin/env bash
# bench/bulk.sh: the bulk-upload engine against SQLite's own CSV import.
#
# Generates N (default 1,000,000) clean upload rows as CSV and as XLSX
# (bench/bulk_gen.c) and N other users; then, on fresh stores that already
# hold the N other users:
#   1. sqlite3 .import of the CSV into a table with the same unique indexes
#      as users (lower(email), mobile), pre-filled with the same N others;
#   2. pravesh import of the CSV;
#   3. pravesh import of the XLSX.
# Prints the times, the ratio to .import (goal <= 2.0), the XLSX/CSV ratio
# (goal <= 3.0) and the peak RSS of each import (goal <= 64 MB).
# pravesh import also writes the result file: that is part of its time.
# Needs: a C compiler, libxlsxwriter, sqlite3, /usr/bin/time (package time;
# `make bench-deps`). Heavy: run it alone. Usage: [N=...] bench/bulk.sh
set -euo pipefail
N=${N:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PRAVESH_BIN:-$ROOT/build/pravesh}
W=$(mktemp -d "${TMPDIR:-/tmp}/pravesh-bulk-XXXXXX")
trap 'rm -rf "$W"' EXIT

[ -x "$BIN" ] || { echo "build pravesh first (make build/pravesh)" >&2; exit 2; }
cc -O2 -o "$W/gen" "$ROOT/bench/bulk_gen.c" $(pkg-config --cflags --libs xlsxwriter)
echo "generating $N rows (CSV and XLSX) and $N other users..."
"$W/gen" upload "$N" "$W/upload.csv" "$W/upload.xlsx"
"$W/gen" users "$N" "$W/others.csv" d-doj
ls -l "$W/upload.csv" "$W/upload.xlsx" | awk '{print "  " $5 " bytes  " $9}'

# A fresh store with the directory and N other users, loaded fast through
# the sqlite3 shell (the schema is the one pravesh migrates to).
mkstore() {
	local d=$1
	mkdir -p "$d"
	PRAVESH_DATA_DIR=$d PRAVESH_DB=sqlite:$d/p.db "$BIN" orgs load "$ROOT/data/orgs.csv" >/dev/null
	sqlite3 "$d/p.db" <<EOF
.mode csv
CREATE TEMP TABLE o(id, first_name, last_name, email, official_email, mobile, org_id, position_id, status, source, created_at, updated_at);
.import $W/others.csv o
INSERT INTO users SELECT id, first_name, last_name, email, CAST(official_email AS INTEGER), mobile, org_id, NULL, status, source, CAST(created_at AS INTEGER), CAST(updated_at AS INTEGER) FROM o;
EOF
}

# seconds, peak RSS (kB, /usr/bin/time -v; the goal's figure) and peak
# anonymous RSS (kB, sampled from /proc every 0.1 s: the process's own
# memory, without file-backed pages) of a command
measure() {
	local log=$1
	shift
	/usr/bin/time -v "$@" >"$log.out" 2>"$log" &
	local tp=$! anon=0 a pid
	while kill -0 "$tp" 2>/dev/null; do
		pid=$(pgrep -P "$tp" | head -1 || true)
		if [ -n "$pid" ]; then
			a=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
			[ "${a:-0}" -gt "$anon" ] && anon=$a
		fi
		sleep 0.1
	done
	wait "$tp" || true
	local t rss
	t=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
	echo "$t $rss $anon"
}

echo "preparing the stores..."
mkstore "$W/csv"
mkstore "$W/xlsx"
sqlite3 "$W/base.db" <<EOF
PRAGMA journal_mode=WAL;
CREATE TABLE t(first_name TEXT, last_name TEXT, email TEXT, mobile TEXT);
CREATE UNIQUE INDEX t_email ON t(lower(email));
CREATE UNIQUE INDEX t_mobile ON t(mobile);
.mode csv
CREATE TEMP TABLE o(id, first_name, last_name, email, official_email, mobile, org_id, position_id, status, source, created_at, updated_at);
.import $W/others.csv o
INSERT INTO t SELECT first_name, last_name, email, mobile FROM o;
EOF
sync

echo "sqlite3 .import..."
read -r t_base rss_base anon_base < <(measure "$W/base.log" sqlite3 -cmd "PRAGMA synchronous=NORMAL" "$W/base.db" ".import --csv --skip 1 $W/upload.csv t")
n_base=$(sqlite3 "$W/base.db" "SELECT count(*) FROM t")
echo "pravesh import (CSV)..."
read -r t_csv rss_csv anon_csv < <(PRAVESH_DATA_DIR=$W/csv PRAVESH_DB=sqlite:$W/csv/p.db PRAVESH_LOG=warn \
	measure "$W/csv.log" "$BIN" import --org d-doj --result "$W/csv.result.csv" "$W/upload.csv")
echo "pravesh import (XLSX)..."
read -r t_xlsx rss_xlsx anon_xlsx < <(PRAVESH_DATA_DIR=$W/xlsx PRAVESH_DB=sqlite:$W/xlsx/p.db PRAVESH_LOG=warn \
	measure "$W/xlsx.log" "$BIN" import --org d-doj --result "$W/xlsx.result.xlsx" "$W/upload.xlsx")

grep -h "^upload" "$W/csv.log.out" "$W/xlsx.log.out" | sed 's/^/  /'
n_csv=$(sqlite3 "$W/csv/p.db" "SELECT count(*) FROM users WHERE source = 'bulk'")
n_xlsx=$(sqlite3 "$W/xlsx/p.db" "SELECT count(*) FROM users WHERE source = 'bulk'")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
cat <<EOF

rows: $N (plus $N users already in each store)
sqlite3 .import          ${t_base} s   (rows now in table: $n_base)
pravesh import CSV       ${t_csv} s   peak RSS $((rss_csv / 1024)) MB (anonymous $((anon_csv / 1024)) MB)   users created: $n_csv
pravesh import XLSX      ${t_xlsx} s   peak RSS $((rss_xlsx / 1024)) MB (anonymous $((anon_xlsx / 1024)) MB)   users created: $n_xlsx
CSV / .import            $(ratio "$t_csv" "$t_base")   (goal <= 2.0)
XLSX / CSV               $(ratio "$t_xlsx" "$t_csv")   (goal <= 3.0)
RSS goal                 64 MB
EOF
