#!/usr/bin/env bash
# The shape of the source, checked in `make test` (after curl's checksrc):
# 1. the layers: every #include in src/ against what its folder may see
#    (architecture.md: http/ -> core/ -> store/; import/, notify/, sso/
#    beside core/; one backend per folder behind store.h);
# 2. no banned function (unbounded or stateful string calls);
# 3. functions longer than 120 lines, or longer than 80 without a comment
#    saying why they must be one piece ("one piece" in the comment above).
# Prints every finding; exits 1 when there is any.
set -u
cd "$(dirname "$0")/.."
bad=0
say() { echo "check-source: $*"; bad=1; }

# 1. layers: <folder> <forbidden include pattern> <why>
rules=(
	"src/core@^(http/|store/sqlite|store/postgres)@<(microhttpd|sqlite3|libpq-fe)\\.h>@core/ knows no HTTP and no SQL"
	"src/sso@^(http/|store/sqlite|store/postgres)@<(microhttpd|sqlite3|libpq-fe)\\.h>@sso/ sits beside core/"
	"src/import@^(http/|store/sqlite|store/postgres)@<(microhttpd|sqlite3|libpq-fe)\\.h>@import/ knows no HTTP and no SQL"
	"src/notify@^(http/|store/sqlite|store/postgres)@<(microhttpd|sqlite3|libpq-fe)\\.h>@notify/ knows no HTTP and no SQL"
	"src/http@^(store/sqlite|store/postgres)@<(sqlite3|libpq-fe)\\.h>@http/ writes no SQL"
	"src/util@^(core|http|store|import|notify|sso)/@<(microhttpd|sqlite3|libpq-fe)\\.h>@util/ depends on nothing of Pravesh"
	"src/store@^(core|http|import|notify|sso)/@<microhttpd\\.h>@store/ knows no rules and no HTTP"
)
for r in "${rules[@]}"; do
	IFS='@' read -r dir local sys why <<< "$r"
	while IFS= read -r line; do
		file=${line%%:*}
		inc=$(sed -E 's/.*#[[:space:]]*include[[:space:]]+//' <<< "${line#*:}")
		name=${inc:1:${#inc}-2}
		if [[ $inc == \"* ]] && grep -Eq "$local" <<< "$name"; then
			say "$file includes $inc: $why"
		elif [[ $inc == \<* ]] && grep -Eq "$sys" <<< "$inc"; then
			say "$file includes $inc: $why"
		fi
	done < <(grep -rHE '^[[:space:]]*#[[:space:]]*include' "$dir" --include='*.c' --include='*.h')
done
# a backend's headers are its own (and store.c's, which chooses one)
while IFS= read -r line; do
	file=${line%%:*}
	case $file in
		src/store/sqlite/*|src/store/postgres/*|src/store/store.c) continue ;;
	esac
	say "$file includes a store backend's header: only src/store/ may"
done < <(grep -rHE '#[[:space:]]*include[[:space:]]+("store/(sqlite|postgres)/|<sqlite3\.h>|<libpq-fe\.h>)' src --include='*.c' --include='*.h')

# 2. banned functions
while IFS= read -r line; do
	say "banned call: $line"
done < <(grep -rnwE '(sprintf|vsprintf|strcpy|strcat|strncat|strtok|gets|atoi|atol)[[:space:]]*\(' src --include='*.c' --include='*.h' | grep -vE '^[^:]*:[0-9]+:[[:space:]]*(/?\*|//)')

# 3. function sizes: a function starts at a line opening with '{' after a
# signature at column 0 and ends at the next '}' at column 0
while IFS= read -r out; do
	[ -n "$out" ] && say "$out"
done < <(awk '
	FNR == 1 { start = 0; why = 0; cmt = "" }
	/^\/\*/ { cmt = ""; incmt = 1 }
	incmt { cmt = cmt $0 "\n"; if ($0 ~ /\*\//) incmt = 0; next }
	/^[A-Za-z].*\(/ && !/;[[:space:]]*$/ && !start { sig = $0; sigline = FNR; why = (cmt ~ /one piece/); cmt = "" }
	/^\{/ && sig != "" { start = FNR }
	/^\}/ && start {
		n = FNR - start - 1
		name = sig; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
		if (n > 120) printf "%s:%d: %s is %d lines long (at most 120)\n", FILENAME, sigline, name, n
		else if (n > 80 && !why) printf "%s:%d: %s is %d lines long: over 80, say why it must be one piece in the comment above it\n", FILENAME, sigline, name, n
		start = 0; sig = ""
	}
	/^$/ && !start { cmt = "" }
' $(find src -name '*.c' | sort))

[ $bad -eq 0 ] && echo "check-source: layers, banned calls and function sizes are fine"
exit $bad
