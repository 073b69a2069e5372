#!/usr/bin/env bash
# Runs each libFuzzer harness for SECONDS over its committed corpus
# (tests/fuzz/corpus/<target>, read-only) and a working corpus that grows
# in build-fuzz/corpus/<target>. Any crash, leak, timeout or sanitizer
# report fails the run; its input is kept as build-fuzz/artifacts/<target>-*
# (copy it into the committed corpus once fixed).
# Usage: scripts/run-fuzz.sh SECONDS HARNESS...
set -u
secs=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$root/build-fuzz
pass=0; fail=0
for bin in "$@"; do
  t=$(basename "$bin"); t=${t#fuzz_}
  seeds=$root/tests/fuzz/corpus/$t
  work=$out/corpus/$t
  mkdir -p "$work" "$out/artifacts" "$out/logs"
  [ -d "$seeds" ] || { echo "run-fuzz: no corpus folder $seeds" >&2; fail=$((fail+1)); continue; }
  log=$out/logs/$t.log
  # -timeout: one input may take at most 10 s; -rss_limit_mb: 2 GB;
  # leaks are detected at exit and on each new input (-detect_leaks)
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$out/artifacts/$t-" "$work" "$seeds" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $t: ok, ${execs:-?} runs in ${secs} s, ${cov:-cov: ?}"
    pass=$((pass+1))
  else
    echo "FAILED: fuzz $t (log: $log)" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20 >&2
    fail=$((fail+1))
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
