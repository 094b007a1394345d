#!/usr/bin/env bash
# Runs one libFuzzer target: first every input that once crashed it
# (regressions/<target>/), then FEATMON_FUZZ_SECONDS (default 30) of fuzzing that starts
# from the committed seeds (corpus/<target>/) in a scratch corpus, so the
# repository is never written. A crash fails the run and leaves its input and
# the fuzzer's whole log in /tmp/featmon-fuzz-crashes-<target>/; copy the input
# to regressions/<target>/.
#   run.sh <fuzzer binary> <fuzz dir> <target>
set -euo pipefail
bin=$1 dir=$2 target=$3 seconds=${FEATMON_FUZZ_SECONDS:-30}
work=$(mktemp -d "/tmp/featmon-fuzz-$target.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/crashes"
if compgen -G "$dir/regressions/$target/*" >/dev/null; then
  "$bin" -runs=1 "$dir"/regressions/"$target"/*
fi
# The whole output goes to a file: a sanitizer report is longer than any tail.
status=0
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$work/corpus" "$dir/corpus/$target" >"$work/crashes/fuzzer.log" 2>&1 || status=$?
if ((status != 0)); then
  kept=/tmp/featmon-fuzz-crashes-$target
  rm -rf "$kept" && cp -r "$work/crashes" "$kept"
  { grep -v -E '^#[0-9]+\s' "$work/crashes/fuzzer.log" || true; } | tail -120  # the report, not the progress lines
  echo "fuzzer $target failed (exit $status); its inputs and whole log are kept in $kept"
else
  tail -20 "$work/crashes/fuzzer.log"
fi
exit "$status"
