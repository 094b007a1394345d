#!/usr/bin/env bash
# What the item repartition topic (kafka.item_repartition_topic) costs
# ingest, issue 13: the same views and clicks ingested by fresh featmond
# processes without and with it, alternating (ROUNDS pairs, medians: two
# shared cores swing single runs by 30%). With it, every event is also
# produced once more, keyed by item, and consumed once more by the task that
# owns its item. Reports the rate (until every offset, the repartition
# topic's included, is committed with its state) and featmond's CPU per event.
# Env: EVENTS (1000000), USERS (200000), ITEMS (20000), PARTITIONS (16), ROUNDS (3).
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build}
BUILD=$(cd "$BUILD" && pwd)
EVENTS=${EVENTS:-1000000} USERS=${USERS:-200000} ITEMS=${ITEMS:-20000} PARTITIONS=${PARTITIONS:-16}
ROUNDS=${ROUNDS:-3}
source "$(dirname "$0")/lib.sh"

ITEM_TOPICS=()
for round in $(seq "$ROUNDS"); do ITEM_TOPICS+=("featmon.items.$round"); done
start_broker "$PARTITIONS" "${ITEM_TOPICS[@]}"
echo "== broker ($PARTITIONS partitions per topic) and $EVENTS events from $USERS users, $ITEMS items"
generate

RESULTS=()
for round in $(seq "$ROUNDS"); do
  for mode in off on; do
    yaml="" expected=$EVENTS
    if [[ $mode == on ]]; then
      # A fresh topic per run: the new group starts with nothing re-keyed. Every
      # view and click is re-keyed once, so the offsets to commit double.
      yaml="  item_repartition_topic: featmon.items.$round" expected=$((2 * EVENTS))
    fi
    start_daemon "$yaml"
    read -r rate seconds cpu <<< "$(time_ingest "$expected")"
    kill "$DAEMON"; wait "$DAEMON" 2>/dev/null || true
    rate=$(python3 -c "print(round($EVENTS / $seconds))")  # events, not offsets
    echo "round $round, repartition $mode: $rate events/s, $seconds s, $cpu CPU-s"
    RESULTS+=("$mode $rate $cpu")
  done
done
python3 - "$EVENTS" "$ROUNDS" "${RESULTS[@]}" <<'PY'
import statistics, sys
events, rounds = int(sys.argv[1]), int(sys.argv[2])
runs = [r.split() for r in sys.argv[3:]]
rate = {m: statistics.median(float(r[1]) for r in runs if r[0] == m) for m in ("off", "on")}
cpu = {m: statistics.median(float(r[2]) for r in runs if r[0] == m) for m in ("off", "on")}
print(f"\n| item repartition ({events:,} events, {rounds} pairs, medians) | without | with | ratio |")
print("|---|---|---|---|")
print(f"| ingest, events/s | {rate['off']:,.0f} | {rate['on']:,.0f} | {rate['on'] / rate['off']:.2f} |")
print(f"| featmond CPU per 1,000 events, ms | {1e6 * cpu['off'] / events:.1f} | {1e6 * cpu['on'] / events:.1f} | "
      f"{cpu['on'] / cpu['off']:.2f} |")
PY
