#!/usr/bin/env bash
# What the changelog (kafka.changelog_topic) costs ingest, issue 13: the same
# views and clicks ingested by fresh featmond processes without and with it,
# alternating (ROUNDS pairs, medians: two shared cores swing single runs by
# 30%). With it, every commit also appends each changed entity's whole state
# and a marker per task to a changelog topic of its own and waits for Kafka to confirm
# them before RocksDB commits. Reports the rate (until every offset is
# committed with its state), featmond's CPU per event, and the changelog's
# bytes per event.
# Env: EVENTS (1000000), USERS (200000), ITEMS (20000), PARTITIONS (16), ROUNDS (3).
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build}
BUILD=$(cd "$BUILD" && pwd)
EVENTS=${EVENTS:-1000000} USERS=${USERS:-200000} ITEMS=${ITEMS:-20000} PARTITIONS=${PARTITIONS:-16}
ROUNDS=${ROUNDS:-3}
source "$(dirname "$0")/lib.sh"

CHANGELOGS=()
for round in $(seq "$ROUNDS"); do CHANGELOGS+=("featmon.changelog.$round"); done
start_broker "$PARTITIONS" "${CHANGELOGS[@]}"
echo "== broker ($PARTITIONS partitions per topic) and $EVENTS events from $USERS users, $ITEMS items"
generate

# Records the last run appended to the changelog (the partitions' end
# offsets) and their mean size, from those the broker still holds (the mock
# keeps about 5 MiB a partition): "records mean_bytes".
changelog_volume() {
  /usr/bin/python3 - "$BOOT" "$PARTITIONS" <<'PY'  # Debian's, with python3-confluent-kafka
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "changelog-volume", "enable.partition.eof": True})
import os
parts = [TopicPartition(os.environ["TOPIC"], p, 0) for p in range(int(sys.argv[2]))]
appended = 0
for tp in parts:
    low, high = c.get_watermark_offsets(tp, timeout=10)
    appended += high
    tp.offset = low
c.assign(parts)
done, held, size = set(), 0, 0
while len(done) < len(parts):
    m = c.poll(5)
    if m is None: break
    if m.error():
        done.add(m.partition()); continue
    held += 1; size += len(m.value() or b"") + len(m.key() or b"")
print(appended, size // max(held, 1))
PY
}

RESULTS=()
for round in $(seq "$ROUNDS"); do
  for mode in off on; do
    yaml=""
    # A fresh changelog per run: the new group starts with no local state.
    [[ $mode == on ]] && yaml="  changelog_topic: featmon.changelog.$round"
    start_daemon "$yaml"
    read -r rate seconds cpu <<< "$(time_ingest "$EVENTS")"
    kill "$DAEMON"; wait "$DAEMON" 2>/dev/null || true
    echo "round $round, changelog $mode: $rate events/s, $seconds s, $cpu CPU-s"
    RESULTS+=("$mode $rate $cpu")
  done
done
read -r RECORDS MEAN_BYTES <<< "$(TOPIC=featmon.changelog.$ROUNDS changelog_volume)"
python3 - "$EVENTS" "$RECORDS" "$MEAN_BYTES" "$ROUNDS" "${RESULTS[@]}" <<'PY'
import statistics, sys
events, records, mean_bytes, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
runs = [r.split() for r in sys.argv[5:]]
rate = {m: statistics.median(float(r[1]) for r in runs if r[0] == m) for m in ("off", "on")}
cpu = {m: statistics.median(float(r[2]) for r in runs if r[0] == m) for m in ("off", "on")}
print(f"\n| changelog ({events:,} events, {rounds} pairs, medians) | without | with | ratio |")
print("|---|---|---|---|")
print(f"| ingest, events/s | {rate['off']:,.0f} | {rate['on']:,.0f} | {rate['on'] / rate['off']:.2f} |")
print(f"| featmond CPU per 1,000 events, ms | {1e6 * cpu['off'] / events:.1f} | {1e6 * cpu['on'] / events:.1f} | "
      f"{cpu['on'] / cpu['off']:.2f} |")
print(f"| changelog records appended (the last run), per event | | {records / events:.2f} "
      f"({records:,} of {mean_bytes} bytes on average) | |")
PY
