#!/usr/bin/env bash
# Runs each compiled unit / store test binary; stops at the first failure.
# Prints one summary line "N passed, N failed" for the whole set.
set -u
pass=0; fail=0
for t in "$@"; do
  if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $t" >&2; fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
