#!/usr/bin/env bash
# JSON ingest (scripts/dev.sh bench runs this after run.sh): the stream a new
# user tries first. One broker, JSON views and clicks, read in the same run by
#   kcat         a plain read of both topics, printing each payload to /dev/null
#   python peer  bench/python_consumer.py: confluent-kafka, json.loads, counts in dicts
#   featmond     the default config: decoded, aggregated, exactly-once in RocksDB
# and prints a table with each rate, the ratios, and featmond's events per
# CPU-second of its own (from /proc).
# Env: EVENTS (1500000), USERS (760000), ITEMS (100000), PARTITIONS (96 per topic), FEATMON_CONFIG (extra YAML).
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build}
BUILD=$(cd "$BUILD" && pwd)
BENCH=$(cd "$(dirname "$0")" && pwd)
EVENTS=${EVENTS:-1500000} USERS=${USERS:-760000} ITEMS=${ITEMS:-100000} PARTITIONS=${PARTITIONS:-96}
source "$BENCH/lib.sh"

echo "== broker ($PARTITIONS partitions per topic) and $EVENTS JSON events from $USERS users, $ITEMS items"
start_broker "$PARTITIONS"
generate --format json

echo "== reference: kcat reading both topics"
KCAT_START=$(date +%s.%N)
for topic in views clicks; do
  kcat -C -b "$BOOT" -t "$topic" -o beginning -e -q -f '%s\n' > /dev/null
done
KCAT_S=$(python3 -c "import time; print(time.time() - $KCAT_START)")

echo "== peer: a Python consumer keeping the same counts"
# Debian's python3: python3-confluent-kafka is installed for it, not for another python3 on PATH.
PYTHON=$(/usr/bin/python3 "$BENCH/python_consumer.py" "$BOOT" "$EVENTS" views clicks)
PYTHON_RATE=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<< "$PYTHON")

echo "== featmond, default config"
start_daemon "${FEATMON_CONFIG:-}"
read -r RATE _ CPU_S <<< "$(time_ingest "$EVENTS")"
RSS_KB=$(awk '/VmHWM/ {print $2}' /proc/$DAEMON/status)
kill -TERM $DAEMON; wait $DAEMON || true

python3 - "$EVENTS" "$KCAT_S" "$PYTHON_RATE" "$RATE" "$CPU_S" "$RSS_KB" <<'PY'
import sys
events, kcat_s, py, rate, cpu_s, rss = int(sys.argv[1]), *map(float, sys.argv[2:])
kcat = events / kcat_s
print(f"\n| JSON ingest, {events:,} events | events/s | featmond's ratio to it | target |")
print("|---|---|---|---|")
print(f"| featmond (exactly-once, default config) | {rate:,.0f} | | |")
print(f"| kcat, plain read of the same topics | {kcat:,.0f} | {rate / kcat:.2f} | >= 0.5 |")
print(f"| Python peer (confluent-kafka, counts in dicts) | {py:,.0f} | {rate / py:.2f} | >= 3 |")
print(f"| featmond events per CPU-second of its own | {events / cpu_s:,.0f} | | |")
print(f"| featmond peak RSS | {rss / 1024:,.0f} MiB | | |")
PY
