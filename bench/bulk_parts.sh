#!/usr/bin/env bash
# bench/bulk_parts.sh: where the time of `pravesh import` goes, measured by
# taking parts of the store's schema away in throwaway copies of the
# database. A measurement only: the service never runs without them (the
# users list's name search needs users_fts, registration needs the unique
# indexes). bench/bulk.sh is the benchmark of the goal; this explains it.
#
# For N generated rows (default 100,000, bench/bulk_gen.c, the same file as
# bulk.sh) and an empty store (the organisations only), ROUNDS rounds
# (default 3), each on fresh copies of the same prepared store, in this
# order so that a drifting machine weighs on all alike:
#   ref       sqlite3 .import of the CSV into a table of the four columns
#             with the two unique indexes (lower(email), mobile): bulk.sh's
#             reference;
#   full      pravesh import, the schema as it is;
#   prefix13  users_fts with prefix indexes of 1 to 3 characters only
#             (the schema has 1 to 8);
#   noprefix  users_fts without prefix indexes;
#   noname    no name index: users_fts a plain table, so the batch still
#             copies every user's name words there, unindexed (and still
#             keeps the organisation's numbering and counts);
#   bare      as noname, and of the users table's indexes only the
#             primary key (id) and the organisation's numbering (the
#             batch numbers the users from it): no lower(email) or mobile
#             index (the reference has both), no by-status or erase index.
# Prints each one's median time (wall, seconds; pravesh import also writes
# its result file; for an even ROUNDS the lower of the two middle times)
# and its ratio to the reference's median; the goal of issue 13 is
# bulk.sh's ratio <= 2.0.
# Needs what bulk.sh needs (`make bench-deps`) and build/pravesh.
# Usage: [N=...] [ROUNDS=...] bench/bulk_parts.sh
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(run ...) stops the script too
N=${N:-100000}
ROUNDS=${ROUNDS:-3}
[[ "$N" =~ ^[1-9][0-9]*$ && "$ROUNDS" =~ ^[1-9][0-9]*$ ]] ||
	{ echo "N and ROUNDS are whole numbers of at least 1" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PRAVESH_BIN:-$ROOT/build/pravesh}
W=$(mktemp -d "${TMPDIR:-/tmp}/pravesh-parts-XXXXXX")
trap 'rm -rf "$W"' EXIT
[ -x "$BIN" ] || { echo "build pravesh first (make build/pravesh)" >&2; exit 2; }
cc -O2 -o "$W/gen" "$ROOT/bench/bulk_gen.c" $(pkg-config --cflags --libs xlsxwriter libzip)
"$W/gen" upload "$N" "$W/up.csv" "$W/up.xlsx" # (the XLSX is not used here)

mkdir "$W/tpl"
PRAVESH_DATA_DIR=$W/tpl PRAVESH_DB=sqlite:$W/tpl/p.db PRAVESH_LOG=warn "$BIN" orgs load "$ROOT/data/orgs.csv" >/dev/null
sqlite3 "$W/tpl/p.db" "CREATE TABLE t(first_name TEXT, last_name TEXT, email TEXT, mobile TEXT);
	CREATE UNIQUE INDEX t_email ON t(lower(email)); CREATE UNIQUE INDEX t_mobile ON t(mobile);
	PRAGMA wal_checkpoint(TRUNCATE); VACUUM;" >/dev/null

FTS="DROP TABLE users_fts; CREATE VIRTUAL TABLE users_fts USING fts5(words, content='', tokenize='ascii', detail='none', columnsize=0"
PLAIN="DROP TABLE users_fts; CREATE TABLE users_fts(rowid INTEGER PRIMARY KEY, words);"
KINDS=(ref full prefix13 noprefix noname bare)
declare -A SQL=(
	[ref]="" [full]=""
	[prefix13]="$FTS, prefix='1 2 3');"
	[noprefix]="$FTS);"
	[noname]="$PLAIN"
	[bare]="$PLAIN DROP INDEX users_email; DROP INDEX users_mobile; DROP INDEX users_org_status_seq; DROP INDEX users_erase;"
)

# seconds of one run of kind $1 on a fresh copy of the store
run() {
	local d=$W/run t0 t1
	rm -rf "$d"
	mkdir "$d"
	cp "$W/tpl/p.db" "$d/p.db"
	[ -z "${SQL[$1]}" ] || sqlite3 -bail "$d/p.db" "${SQL[$1]}" >/dev/null ||
		{ echo "$1: the schema change failed" >&2; exit 1; }
	sync
	t0=$(date +%s.%N)
	if [ "$1" = ref ]; then
		sqlite3 -cmd "PRAGMA synchronous=NORMAL" "$d/p.db" ".import --csv --skip 1 '$W/up.csv' t" \
			>"$d/log" 2>&1 || { cat "$d/log" >&2; exit 1; }
	else
		PRAVESH_DATA_DIR=$d PRAVESH_DB=sqlite:$d/p.db PRAVESH_LOG=warn \
			"$BIN" import --org d-doj --result "$d/result.csv" "$W/up.csv" \
			>"$d/log" 2>&1 || { cat "$d/log" >&2; exit 1; }
	fi
	t1=$(date +%s.%N)
	local made
	if [ "$1" = ref ]; then made=$(sqlite3 "$d/p.db" "SELECT count(*) FROM t"); else
		made=$(sqlite3 "$d/p.db" "SELECT count(*) FROM users WHERE source = 'bulk'"); fi
	[ "$made" = "$N" ] || { echo "$1: $made rows of $N written" >&2; cat "$d/log" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

declare -A T
for r in $(seq "$ROUNDS"); do
	echo "round $r of $ROUNDS ($N rows)..."
	for k in "${KINDS[@]}"; do T[$k]="${T[$k]:-} $(run "$k")"; done
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ref=$(median "${T[ref]}")
echo
printf '%-9s %8s %7s   %s\n' kind median ratio "runs (s)"
for k in "${KINDS[@]}"; do
	m=$(median "${T[$k]}")
	printf '%-9s %8s %7s  %s\n' "$k" "$m" "$(awk -v a="$m" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')" "${T[$k]}"
done
