#!/usr/bin/env bash
# featmon-export (scripts/dev.sh bench runs this): the replay rate of the
# training-data export against a plain librdkafka read of the same three
# topics, and its memory at two lengths of history over the same users
# (memory follows the entities, not the history).
#   plain          bench/plain_consumer reading views, clicks and predictions
#   replay alone   bench/export_replay: featmon-export's own read, decode and
#                  event-time merge of the same topics, nothing done per record
#                  (what the export costs beyond it is the join and the files)
#   featmon-export decoded, replayed in event-time order through features/,
#                  labelled, split, written as CSV (one core: it is one thread)
# Env: EVENTS (1000000 generated events, each view with its prediction), USERS (100000), ITEMS (20000),
#      PARTITIONS (16 per topic).
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build}
BUILD=$(cd "$BUILD" && pwd)
EVENTS=${EVENTS:-1000000} USERS=${USERS:-100000} ITEMS=${ITEMS:-20000} PARTITIONS=${PARTITIONS:-16}
source "$(dirname "$0")/lib.sh"

# Prints "messages seconds cpu_seconds max_rss_kib" of one export of model ctr_ranker.
run_export() {
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$BUILD/tools/featmon-export" --brokers "$BOOT" --model ctr_ranker \
    --out "$WORK/out" > "$WORK/export.out"
  read -r wall user sys rss < "$WORK/time"
  messages=$(python3 -c "import json; print(json.load(open('$WORK/out/summary.json'))['messages'])")
  echo "$messages $wall $(python3 -c "print($user + $sys)") $rss"
}

echo "== broker ($PARTITIONS partitions per topic), $EVENTS events with predictions from $USERS users, $ITEMS items"
start_broker "$PARTITIONS"
# Two halves of history, each 3 hours of event time, the second after the first.
HALF=$((EVENTS / 2)) NOW=$(date +%s%3N) HOURS3=$((3 * 3600 * 1000))
generate_half() {  # $1: start time, $2: seed
  "$BUILD/tools/featmon-gen" --brokers "$BOOT" --rate 0 --count "$HALF" --users "$USERS" --items "$ITEMS" --predictions \
    --start-ts-ms "$1" --step-ms $((HOURS3 / HALF)) --seed "$2" --producer-config compression.type=lz4,linger.ms=50 2> "$WORK/gen.err"
}
generate_half $((NOW - 2 * HOURS3)) 1
echo "== featmon-export over the first half"
read -r M1 S1 C1 R1 <<< "$(run_export)"
generate_half $((NOW - HOURS3)) 2
echo "== featmon-export over all of it"
read -r M2 S2 C2 R2 <<< "$(run_export)"
cat "$WORK/export.out"
echo "== reference: plain librdkafka consumer reading the same topics"
PLAIN=$("$BUILD/bench/plain_consumer" "$BOOT" "$PARTITIONS" "$M2" views clicks predictions)
PLAIN_RATE=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<< "$PLAIN")
echo "== reference: featmon-export's replay alone (read, decode, merge)"
REPLAY=$("$BUILD/bench/export_replay" "$BOOT")
echo "$REPLAY"
REPLAY_RATE=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<< "$REPLAY")

python3 - "$M1" "$S1" "$C1" "$R1" "$M2" "$S2" "$C2" "$R2" "$PLAIN_RATE" "$USERS" "$REPLAY_RATE" <<'PY'
import sys
m1, s1, c1, r1, m2, s2, c2, r2, plain, users, replay = map(float, sys.argv[1:])
print(f"\n| featmon-export ({int(users):,} users) | featmon-export | reference | ratio | target |")
print("|---|---|---|---|---|")
print(f"| replay, messages/s ({int(m2):,} messages) | {m2/s2:,.0f} | {plain:,.0f} (plain librdkafka read) | {m2/s2/plain:.2f} | >= 500,000 on one core |")
print(f"| replay, messages/s, beside the replay alone | {m2/s2:,.0f} | {replay:,.0f} (read, decode, merge; nothing per record) | {m2/s2/replay:.2f} | |")
print(f"| replay, messages per CPU-second | {m2/c2:,.0f} | | | >= 500,000 |")
print(f"| peak RSS, {int(m1):,} / {int(m2):,} messages | {r1/1024:,.0f} / {r2/1024:,.0f} MiB | | {r2/r1:.2f} | bounded by entities |")
PY
