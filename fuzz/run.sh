#!/usr/bin/env bash
# Runs one libFuzzer target: first every input that once crashed it
# (regressions/<target>/), then FEATMON_FUZZ_SECONDS (default 30) of fuzzing that starts
# from the committed seeds (corpus/<target>/) in a scratch corpus, so the
# repository is never written. A crash leaves its input in the scratch
# directory's crashes/ and fails the run; copy it to regressions/<target>/.
#   run.sh <fuzzer binary> <fuzz dir> <target>
set -euo pipefail
bin=$1 dir=$2 target=$3 seconds=${FEATMON_FUZZ_SECONDS:-30}
work=$(mktemp -d "/tmp/featmon-fuzz-$target.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/crashes"
if compgen -G "$dir/regressions/$target/*" >/dev/null; then
  "$bin" -runs=1 "$dir"/regressions/"$target"/*
fi
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$work/corpus" "$dir/corpus/$target" 2>&1 | tail -20
status=${PIPESTATUS[0]}
if ((status != 0)); then
  echo "fuzzer $target failed; inputs in $work/crashes are kept in /tmp/featmon-fuzz-crashes-$target"
  cp -r "$work/crashes" "/tmp/featmon-fuzz-crashes-$target"
fi
exit "$status"
