#!/usr/bin/env bash
# bench/bulk.sh: the bulk-upload engine against SQLite's own CSV import.
#
# Generates N (default 1,000,000) clean upload rows (bench/bulk_gen.c) as
# CSV, as XLSX with inline strings (libxlsxwriter's constant_memory mode),
# and as XLSX the way Excel writes it, every text cell an index into a
# shared-strings table that comes before the sheet: once with the mobiles
# as numbers, once as text (the template's text column: every cell a
# shared string, all different, 4N of them; at N = 1,048,575, the largest
# sheet Excel saves, about 4.2 million strings: the memory goal's workbook).
# Also N other users; then, on fresh stores that already hold the N others:
#   1. sqlite3 .import of the CSV into a table with the same unique indexes
#      as users (lower(email), mobile), pre-filled with the same N others;
#   2. pravesh import of the CSV, of the XLSX, and of each shared-strings
#      XLSX.
# Then the reader alone (bench/bulk_read.c) on each file.
# Prints the times, the ratio to .import (goal <= 2.0), the XLSX/CSV ratios
# (goal <= 3.0) and the peak RSS of each import (goal <= 64 MB).
# pravesh import also writes the result file: that is part of its time.
#
# BASE=<git commit> also builds that commit of this repository in the
# work folder and runs its reader and its pravesh import on the
# all-text shared-strings XLSX, to compare the two versions on the same
# file in the same run (new / old ratios).
#
# Needs: a C compiler, libxlsxwriter, libzip, sqlite3, /usr/bin/time
# (package time; `make bench-deps`). Heavy: run it alone.
# Usage: [N=...] [BASE=<commit>] bench/bulk.sh
set -euo pipefail
N=${N:-1000000}
BASE=${BASE:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PRAVESH_BIN:-$ROOT/build/pravesh}
LIB=$(dirname "$BIN")/libpravesh.a
W=$(mktemp -d "${TMPDIR:-/tmp}/pravesh-bulk-XXXXXX")
trap 'rm -rf "$W"' EXIT
export TMPDIR=$W # bulk_read's temporary files (pravesh import uses its data folder)

[ -x "$BIN" ] && [ -f "$LIB" ] || { echo "build pravesh first (make build/pravesh)" >&2; exit 2; }
LIBS="$(pkg-config --libs libmicrohttpd jansson libsodium sqlite3 libcurl libzip expat xlsxwriter libiddawc) -lcsv -lpthread -lm"
cc -O2 -o "$W/gen" "$ROOT/bench/bulk_gen.c" $(pkg-config --cflags --libs xlsxwriter libzip)
cc -O2 -I"$ROOT/src" -o "$W/read" "$ROOT/bench/bulk_read.c" "$LIB" $LIBS
if [ -n "$BASE" ]; then
	echo "building $BASE for the comparison..."
	mkdir "$W/base"
	git -C "$ROOT" archive "$BASE" | tar -x -C "$W/base"
	make -C "$W/base" --no-print-directory build/pravesh >"$W/base.build.log" 2>&1 ||
		{ cat "$W/base.build.log" >&2; exit 2; }
	cc -O2 -I"$W/base/src" -o "$W/read-base" "$ROOT/bench/bulk_read.c" "$W/base/build/libpravesh.a" $LIBS
fi
echo "generating $N rows (CSV, XLSX, XLSX with shared strings) and $N other users..."
"$W/gen" upload "$N" "$W/upload.csv" "$W/upload.xlsx"
"$W/gen" upload-sst "$N" "$W/upload-sst-num.xlsx" number
"$W/gen" upload-sst "$N" "$W/upload-sst-text.xlsx" text
"$W/gen" users "$N" "$W/others.csv" d-doj
ls -l "$W"/upload* | awk '{print "  " $5 " bytes  " $9}'

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

# pravesh import of file $2 by binary $3 into a fresh store $W/$1: sets
# t_$1, rss_$1, anon_$1 and n_$1 (users created).
import() {
	local name=$1 file=$2 bin=$3 t rss anon
	PRAVESH_DATA_DIR=$W/$name PRAVESH_DB=sqlite:$W/$name/p.db PRAVESH_LOG=warn \
		measure "$W/$name.log" "$bin" import --org d-doj --result "$W/$name.result.${file##*.}" "$file" \
		>"$W/$name.m"
	read -r t rss anon <"$W/$name.m"
	printf -v "t_$name" '%s' "$t"
	printf -v "rss_$name" '%s' "$rss"
	printf -v "anon_$name" '%s' "$anon"
	printf -v "n_$name" '%s' "$(sqlite3 "$W/$name/p.db" "SELECT count(*) FROM users WHERE source = 'bulk'")"
}

# bulk_read (binary $3) of file $2: sets rt_$1 (seconds), rrss_$1 (kB).
readonly_run() {
	local name=$1 file=$2 bin=$3 out
	out=$(/usr/bin/time -f "%M" "$bin" "$file" 2>"$W/read-$name.time")
	printf -v "rt_$name" '%s' "$(echo "$out" | awk '{print $1}')"
	printf -v "rrss_$name" '%s' "$(tail -1 "$W/read-$name.time")"
}

imports=(csv xlsx sstn sstt)
[ -n "$BASE" ] && imports+=(sstt_base)
echo "preparing the stores..."
for s in "${imports[@]}"; do mkstore "$W/$s"; done
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
echo "pravesh import (CSV, XLSX, XLSX shared strings x2)..."
import csv "$W/upload.csv" "$BIN"
import xlsx "$W/upload.xlsx" "$BIN"
import sstn "$W/upload-sst-num.xlsx" "$BIN"
import sstt "$W/upload-sst-text.xlsx" "$BIN"
if [ -n "$BASE" ]; then
	echo "pravesh import at $BASE (XLSX shared strings, all text)..."
	import sstt_base "$W/upload-sst-text.xlsx" "$W/base/build/pravesh"
fi
echo "the reader alone..."
readonly_run csv "$W/upload.csv" "$W/read"
readonly_run xlsx "$W/upload.xlsx" "$W/read"
readonly_run sstn "$W/upload-sst-num.xlsx" "$W/read"
readonly_run sstt "$W/upload-sst-text.xlsx" "$W/read"
if [ -n "$BASE" ]; then
	readonly_run sstn_base "$W/upload-sst-num.xlsx" "$W/read-base"
	readonly_run sstt_base "$W/upload-sst-text.xlsx" "$W/read-base"
fi

for s in "${imports[@]}"; do grep -h "^upload" "$W/$s.log.out" | sed "s/^/  $s: /"; done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mb() { echo $(($1 / 1024)); }
goal() { [ "$(($1 / 1024))" -lt 64 ] && echo "under the 64 MB goal" || echo "OVER the 64 MB goal"; }
cat <<EOF

rows: $N (plus $N users already in each store)
sqlite3 .import          ${t_base} s   (rows now in table: $n_base)
pravesh import CSV       ${t_csv} s   peak RSS $(mb "$rss_csv") MB (anonymous $(mb "$anon_csv") MB)   users created: $n_csv
pravesh import XLSX      ${t_xlsx} s   peak RSS $(mb "$rss_xlsx") MB (anonymous $(mb "$anon_xlsx") MB)   users created: $n_xlsx
  shared strings, mobile numbers
                         ${t_sstn} s   peak RSS $(mb "$rss_sstn") MB (anonymous $(mb "$anon_sstn") MB)   users created: $n_sstn
  shared strings, all text ($((4 * N + 4)) strings)
                         ${t_sstt} s   peak RSS $(mb "$rss_sstt") MB (anonymous $(mb "$anon_sstt") MB)   users created: $n_sstt
CSV / .import            $(ratio "$t_csv" "$t_base")   (goal <= 2.0)
XLSX / CSV               $(ratio "$t_xlsx" "$t_csv")   (goal <= 3.0)
XLSX shared / CSV        $(ratio "$t_sstn" "$t_csv") (mobile numbers)   $(ratio "$t_sstt" "$t_csv") (all text)   (goal <= 3.0)
RSS goal                 64 MB: shared strings all text $(mb "$rss_sstt") MB, $(goal "$rss_sstt"); mobile numbers $(mb "$rss_sstn") MB, $(goal "$rss_sstn")

the reader alone (bench/bulk_read.c: open, every row, close)
  CSV                    ${rt_csv} s   peak RSS $(mb "$rrss_csv") MB
  XLSX inline strings    ${rt_xlsx} s   peak RSS $(mb "$rrss_xlsx") MB
  XLSX shared, numbers   ${rt_sstn} s   peak RSS $(mb "$rrss_sstn") MB
  XLSX shared, all text  ${rt_sstt} s   peak RSS $(mb "$rrss_sstt") MB
EOF
if [ -n "$BASE" ]; then
	cat <<EOF

against $BASE, on the same files
  reader, shared numbers ${rt_sstn_base} s   peak RSS $(mb "$rrss_sstn_base") MB   new / old time $(ratio "$rt_sstn" "$rt_sstn_base")
  reader, shared text    ${rt_sstt_base} s   peak RSS $(mb "$rrss_sstt_base") MB   new / old time $(ratio "$rt_sstt" "$rt_sstt_base")   (goal <= 1.5)
  import, shared text    ${t_sstt_base} s   peak RSS $(mb "$rss_sstt_base") MB (anonymous $(mb "$anon_sstt_base") MB)   users created: $n_sstt_base   new / old time $(ratio "$t_sstt" "$t_sstt_base")
EOF
fi
