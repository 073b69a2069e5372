#!/usr/bin/env bash
# bench/bulk.sh: the bulk-upload engine against the database's own bulk
# load of the same file, in the same run.
#
# For each row count in NS (default "100000 1000000") it generates that many
# clean upload rows (bench/bulk_gen.c) as CSV and as XLSX with inline
# strings (libxlsxwriter's constant_memory mode); at the largest count also
# the XLSX the way Excel writes it, every text cell an index into a
# shared-strings table that comes before the sheet: once with the mobiles
# as numbers, once as text (the template's text column: every cell a shared
# string, all different, 4N of them; at N = 1,048,575, the largest sheet
# Excel saves, about 4.2 million strings: the memory goal's workbook). Then,
# for each store state (empty: the organisations only; full: also OTHERS,
# default 1,000,000, other users) and each row count, on fresh copies of
# the same prepared store:
#   1. the reference: sqlite3 .import of the CSV into a table with the
#      same unique indexes as users (lower(email), mobile), holding the
#      same other users;
#   2. pravesh import of the CSV and of the XLSX (and of the shared-strings
#      workbooks at the largest count).
# The generated people each have a name of their own (a common word and a
# distinct suffix): a hard case for the name index (SQLite: users_fts, with
# prefixes of 1 to 8 characters; PostgreSQL: the users_name_words GIN
# index), which then gains two new words, and their prefixes, per person.
# At the largest count the same rows with names from two lists of 20 (as
# in bench/users.sh: names repeat, as in a real organisation) are imported
# too, each against its own reference: the easy case. Most real files lie
# between the two (names of three or more long words would cost more). The
# goal is judged on the generated names' table, not on this row.
# Then the reader alone (bench/bulk_read.c) on each file of the largest
# count. Prints a table: the times, the ratio to the reference (goal
# <= 2.0), XLSX / CSV (goal <= 3.0), the peak RSS of each import (goal <=
# 64 MB) and the time per row at each count (linear: the same per row).
# pravesh import also writes the result file: that is part of its time.
#
# --postgres (issue 10): the same with the store on PostgreSQL, a throwaway
# cluster (scripts/pg-cluster.sh): the reference is psql \copy of the CSV
# into a table with the same unique indexes, on the same cluster, in the
# same run (goal <= 2.0, peak RSS <= 64 MB).
#
# BASE=<git commit> also builds that commit of this repository in the work
# folder and runs its reader and its pravesh import on the all-text
# shared-strings XLSX (SQLite, full store), to compare the two versions on
# the same file in the same run (new / old ratios).
#
# Needs: a C compiler, libxlsxwriter, libzip, sqlite3, /usr/bin/time
# (package time; `make bench-deps`); psql and the PostgreSQL server for
# --postgres. Heavy (about half an hour): run it alone.
# Usage: [NS="..."] [OTHERS=...] [BASE=<commit>] bench/bulk.sh [--postgres]
set -euo pipefail
PG=0
if [ "${1:-}" = "--postgres" ]; then PG=1; shift; fi
NS=${NS:-"100000 1000000"}
OTHERS=${OTHERS:-1000000}
BASE=${BASE:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PRAVESH_BIN:-$ROOT/build/pravesh}
LIB=$(dirname "$BIN")/libpravesh.a
W=$(mktemp -d "${TMPDIR:-/tmp}/pravesh-bulk-XXXXXX")
pgdir=""
cleanup() {
	[ -z "$pgdir" ] || "$ROOT/scripts/pg-cluster.sh" stop "$pgdir"
	rm -rf "$W"
}
trap cleanup EXIT
export TMPDIR=$W # bulk_read's temporary files (pravesh import uses its data folder)
MAXN=$(printf '%s\n' $NS | sort -n | tail -1)

[ -x "$BIN" ] && [ -f "$LIB" ] || { echo "build pravesh first (make build/pravesh)" >&2; exit 2; }
LIBS="$(pkg-config --libs libmicrohttpd jansson libsodium sqlite3 libcurl libzip expat xlsxwriter libiddawc) -lcsv -lpthread -lm"
[ "$PG" = 0 ] || LIBS="$LIBS $(pkg-config --libs libpq)"
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
echo "generating the upload files ($NS rows), the shared-strings workbooks ($MAXN rows) and $OTHERS other users..."
for n in $NS; do "$W/gen" upload "$n" "$W/up-$n.csv" "$W/up-$n.xlsx"; done
SST=(sstn sstt)
"$W/gen" upload-names "$MAXN" "$W/up-$MAXN-names.csv"
"$W/gen" upload-sst "$MAXN" "$W/up-$MAXN-sstn.xlsx" number
"$W/gen" upload-sst "$MAXN" "$W/up-$MAXN-sstt.xlsx" text
"$W/gen" users "$OTHERS" "$W/others.csv" d-doj
ls -l "$W"/up-* | awk '{print "  " $5 " bytes  " $9}'

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

# ---- the stores ----------------------------------------------------------
# SQLite: a prepared store file per state, copied for every run. PostgreSQL:
# a template database per state, cloned (CREATE DATABASE ... TEMPLATE).
OTHERS_COLS="id, first_name, last_name, email, official_email, mobile, org_id, position_id, status, source, created_at, updated_at"
prepare_sqlite() {
	local d=$W/tpl-$1
	mkdir -p "$d"
	PRAVESH_DATA_DIR=$d PRAVESH_DB=sqlite:$d/p.db PRAVESH_LOG=warn "$BIN" orgs load "$ROOT/data/orgs.csv" >/dev/null
	sqlite3 "$d/p.db" "CREATE TABLE t(first_name TEXT, last_name TEXT, email TEXT, mobile TEXT);
		CREATE UNIQUE INDEX t_email ON t(lower(email)); CREATE UNIQUE INDEX t_mobile ON t(mobile);"
	if [ "$1" = full ]; then
		sqlite3 "$d/p.db" <<EOF
.mode csv
CREATE TEMP TABLE o(id, first_name, last_name, email, official_email, mobile, org_id, position_id, status, source, created_at, updated_at);
.import $W/others.csv o
INSERT INTO users ($OTHERS_COLS) SELECT id, first_name, last_name, email, CAST(official_email AS INTEGER), mobile, org_id, NULL, status, source, CAST(created_at AS INTEGER), CAST(updated_at AS INTEGER) FROM o;
INSERT INTO t SELECT first_name, last_name, email, mobile FROM o;
EOF
	fi
	sqlite3 "$d/p.db" "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;" >/dev/null
}

prepare_pg() {
	psql "$pgurl/postgres" -qAtX -c "CREATE DATABASE tpl_$1"
	PRAVESH_DATA_DIR=$W/tpl-$1 PRAVESH_DB=$pgurl/tpl_$1 PRAVESH_LOG=warn "$BIN" orgs load "$ROOT/data/orgs.csv" >/dev/null
	psql "$pgurl/tpl_$1" -qAtX -c "CREATE TABLE t(first_name text, last_name text, email text, mobile text);
		CREATE UNIQUE INDEX t_email ON t (lower(email)); CREATE UNIQUE INDEX t_mobile ON t (mobile);"
	if [ "$1" = full ]; then
		psql "$pgurl/tpl_$1" -qAtX \
			-c "CREATE TEMP TABLE o(id text, first_name text, last_name text, email text, official_email int, mobile text, org_id text, position_id text, status text, source text, created_at bigint, updated_at bigint)" \
			-c "\\copy o FROM '$W/others.csv' WITH (FORMAT csv)" \
			-c "INSERT INTO users ($OTHERS_COLS) SELECT id, first_name, last_name, email, official_email, mobile, org_id, NULL, status, source, created_at, updated_at FROM o" \
			-c "INSERT INTO t SELECT first_name, last_name, email, mobile FROM o"
	fi
	psql "$pgurl/tpl_$1" -qAtX -c "VACUUM ANALYZE"
}

# A fresh store of state $2 for run $1: sets DB (the store URL) and DIR
# (its data folder).
fresh() {
	DIR=$W/run-$1
	rm -rf "$DIR"
	mkdir -p "$DIR"
	if [ "$PG" = 1 ]; then
		psql "$pgurl/postgres" -qAtX -c "DROP DATABASE IF EXISTS run" -c "CREATE DATABASE run TEMPLATE tpl_$2"
		DB=$pgurl/run
	else
		cp "$W/tpl-$2/p.db" "$DIR/p.db"
		DB=sqlite:$DIR/p.db
	fi
	sync
}

# the reference: the CSV into table t of a fresh store of state $2
reference() {
	local name=$1 state=$2 file=$3
	fresh "$name" "$state"
	if [ "$PG" = 1 ]; then
		measure "$W/$name.log" psql "$DB" -qAtX -c "\\copy t FROM '$file' WITH (FORMAT csv, HEADER true)" >"$W/$name.m"
	else
		measure "$W/$name.log" sqlite3 -cmd "PRAGMA synchronous=NORMAL" "$DIR/p.db" \
			".import --csv --skip 1 $file t" >"$W/$name.m"
	fi
	read -r t rss anon <"$W/$name.m"
	printf -v "t_$name" '%s' "$t"
	printf -v "n_$name" '%s' "$(count "SELECT count(*) FROM t")"
}

count() {
	if [ "$PG" = 1 ]; then psql "$DB" -qAtX -c "$1"; else sqlite3 "$DIR/p.db" "$1"; fi
}

# pravesh import (binary $4) of file $3 into a fresh store of state $2:
# sets t_$1, rss_$1, anon_$1 and n_$1 (users created).
import() {
	local name=$1 state=$2 file=$3 bin=${4:-$BIN} t rss anon
	fresh "$name" "$state"
	PRAVESH_DATA_DIR=$DIR PRAVESH_DB=$DB PRAVESH_LOG=warn \
		measure "$W/$name.log" "$bin" import --org d-doj --result "$DIR/result.${file##*.}" "$file" \
		>"$W/$name.m"
	read -r t rss anon <"$W/$name.m"
	printf -v "t_$name" '%s' "$t"
	printf -v "rss_$name" '%s' "$rss"
	printf -v "anon_$name" '%s' "$anon"
	printf -v "n_$name" '%s' "$(count "SELECT count(*) FROM users WHERE source = 'bulk'")"
	grep -h "^upload" "$W/$name.log.out" | sed "s/^/  $name: /" || true
	[ "$PG" = 1 ] || rm -rf "$DIR"
}

# bulk_read (binary $3) of file $2: sets rt_$1 (seconds), rrss_$1 (kB).
readonly_run() {
	local name=$1 file=$2 bin=$3 out
	out=$(/usr/bin/time -f "%M" "$bin" "$file" 2>"$W/read-$name.time")
	printf -v "rt_$name" '%s' "$(echo "$out" | awk '{print $1}')"
	printf -v "rrss_$name" '%s' "$(tail -1 "$W/read-$name.time")"
}

if [ "$PG" = 1 ]; then
	read -r pgdir pgurl < <("$ROOT/scripts/pg-cluster.sh" start)
	[ -n "${pgurl:-}" ] || { echo "could not start PostgreSQL" >&2; exit 1; }
	REF="psql \\copy"
else
	REF="sqlite3 .import"
fi
echo "preparing the stores (empty, and with $OTHERS other users)..."
for state in empty full; do
	if [ "$PG" = 1 ]; then prepare_pg "$state"; else prepare_sqlite "$state"; fi
done

# Each cell: the reference, then pravesh on the same file, so that a
# machine whose load drifts weighs on both alike.
for state in empty full; do
	for n in $NS; do
		echo "$state store, $n rows: $REF, pravesh import CSV, XLSX..."
		reference "ref_${state}_$n" "$state" "$W/up-$n.csv"
		import "csv_${state}_$n" "$state" "$W/up-$n.csv"
		import "xlsx_${state}_$n" "$state" "$W/up-$n.xlsx"
	done
	for s in "${SST[@]}"; do
		echo "$state store, $MAXN rows: pravesh import XLSX with shared strings ($s)..."
		import "${s}_${state}" "$state" "$W/up-$MAXN-$s.xlsx"
	done
	echo "$state store, $MAXN rows, names from lists: $REF, pravesh import CSV..."
	reference "refn_${state}" "$state" "$W/up-$MAXN-names.csv"
	import "names_${state}" "$state" "$W/up-$MAXN-names.csv"
done
if [ -n "$BASE" ] && [ "$PG" = 0 ]; then
	echo "pravesh import at $BASE (XLSX shared strings, all text, full store)..."
	import sstt_base full "$W/up-$MAXN-sstt.xlsx" "$W/base/build/pravesh"
fi
echo "the reader alone..."
readonly_run csv "$W/up-$MAXN.csv" "$W/read"
readonly_run xlsx "$W/up-$MAXN.xlsx" "$W/read"
readonly_run sstn "$W/up-$MAXN-sstn.xlsx" "$W/read"
readonly_run sstt "$W/up-$MAXN-sstt.xlsx" "$W/read"
if [ -n "$BASE" ]; then
	readonly_run sstn_base "$W/up-$MAXN-sstn.xlsx" "$W/read-base"
	readonly_run sstt_base "$W/up-$MAXN-sstt.xlsx" "$W/read-base"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
us() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.2f", t * 1e6 / n }'; }
mb() { echo $(($1 / 1024)); }
v() { local x="$1_$2"; echo "${!x}"; }
goal() { [ "$(($1 / 1024))" -le 64 ] && echo "under the 64 MB goal" || echo "OVER the 64 MB goal"; }

echo
echo "backend: $([ "$PG" = 1 ] && echo "PostgreSQL ($REF on the same cluster)" || echo "SQLite ($REF)")"
echo "store    rows     ${REF} s  CSV s   CSV/ref (goal <= 2.0)  XLSX s  XLSX/CSV (<= 3.0)  RSS CSV  RSS XLSX  created (CSV, XLSX)"
for state in empty full; do
	for n in $NS; do
		k=${state}_$n
		printf '%-8s %-8s %8s  %6s  %6s                 %6s  %6s             %4s MB  %5s MB  %s, %s\n' \
			"$state" "$n" "$(v t_ref "$k")" "$(v t_csv "$k")" "$(ratio "$(v t_csv "$k")" "$(v t_ref "$k")")" \
			"$(v t_xlsx "$k")" "$(ratio "$(v t_xlsx "$k")" "$(v t_csv "$k")")" \
			"$(mb "$(v rss_csv "$k")")" "$(mb "$(v rss_xlsx "$k")")" "$(v n_csv "$k")" "$(v n_xlsx "$k")"
	done
done
echo
echo "names from two lists of 20 (names repeat: the name index's easy case, for comparison; the goal is judged on the table above), $MAXN rows, CSV"
for state in empty full; do
	loaded=$(v n_refn "$state")
	[ "$state" = empty ] || loaded=$((loaded - OTHERS)) # t also holds the other users
	printf '  %-6s %s %s s (%s rows), pravesh import %s s: ratio %s, peak RSS %s MB, %s created\n' \
		"$state" "$REF" "$(v t_refn "$state")" "$loaded" "$(v t_names "$state")" \
		"$(ratio "$(v t_names "$state")" "$(v t_refn "$state")")" "$(mb "$(v rss_names "$state")")" \
		"$(v n_names "$state")"
done
echo
echo "time per row (microseconds; linear when it does not grow with the rows)"
for state in empty full; do
	for n in $NS; do
		k=${state}_$n
		printf '  %-6s %8s rows: %s %s, CSV %s, XLSX %s\n' "$state" "$n" "$REF" \
			"$(us "$(v t_ref "$k")" "$n")" "$(us "$(v t_csv "$k")" "$n")" "$(us "$(v t_xlsx "$k")" "$n")"
	done
done
echo
echo "XLSX with shared strings, $MAXN rows"
for state in empty full; do
	printf '  %-6s mobile numbers %6s s  peak RSS %s MB (anonymous %s MB)   all text (%s strings) %6s s  peak RSS %s MB (anonymous %s MB)   / CSV %s, %s (goal <= 3.0)\n' \
		"$state" "$(v t_sstn "$state")" "$(mb "$(v rss_sstn "$state")")" "$(mb "$(v anon_sstn "$state")")" \
		"$((4 * MAXN + 4))" "$(v t_sstt "$state")" "$(mb "$(v rss_sstt "$state")")" "$(mb "$(v anon_sstt "$state")")" \
		"$(ratio "$(v t_sstn "$state")" "$(v t_csv "${state}_$MAXN")")" \
		"$(ratio "$(v t_sstt "$state")" "$(v t_csv "${state}_$MAXN")")"
done
echo "RSS goal 64 MB: largest $({ for x in csv xlsx; do for state in empty full; do for n in $NS; do v rss_$x "${state}_$n"; done; done; done; v rss_names empty; v rss_names full; } | sort -n | tail -1 | awk '{printf "%d MB", $1 / 1024}'), shared strings all text $(mb "$rss_sstt_full") MB: $(goal "$rss_sstt_full")"
cat <<EOF

the reader alone (bench/bulk_read.c: open, every row, close), $MAXN rows
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
EOF
	[ "$PG" = 1 ] || cat <<EOF
  import, shared text    ${t_sstt_base} s   peak RSS $(mb "$rss_sstt_base") MB (anonymous $(mb "$anon_sstt_base") MB)   users created: $n_sstt_base   new / old time $(ratio "$t_sstt_full" "$t_sstt_base")
EOF
fi
