#!/usr/bin/env bash
# Freshness (issue 12, target 4): how soon a lookup reflects an event, at
# RATE events/s of background traffic. One broker; for each configuration a
# fresh featmond starts at the end of the topics, featmon-gen sends RATE
# views and clicks per second with wall-clock timestamps, and
# bench/freshness_probe.py sends one view every 50 ms for a user nobody else
# names and polls its lookup until the view shows. Printed per configuration:
#   produce -> lookup   the probe's p50 and p99, end to end (producer, broker,
#                       librdkafka's fetch, featmond, HTTP)
#   read -> visible     featmond's own featmon_read_to_visible_seconds: from
#                       the poll that read an event to the moment lookups
#                       can see it (p50 and p99 as bucket bounds)
#   event-time lag      the largest featmon_event_time_lag_seconds at the end
# The reference is the same featmond with http.isolation: read_committed,
# which is how lookups worked before: visible only once committed.
# featmond's consumer runs with fetch.wait.max.ms: 10 here. The mock broker
# answers a fetch that finds no new data only after fetch.wait.max.ms (500 ms
# by default) and is not woken by data arriving meanwhile, as a real broker
# is; left at the default, half a second of the mock's waiting would be
# measured instead of featmond.
# Env: RATE (20000), DURATION (20 s per configuration), PARTITIONS (16 per topic),
#      CONFIGS (isolation:commit_interval pairs, the five of the table by default).
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build}
BUILD=$(cd "$BUILD" && pwd)
BENCH=$(cd "$(dirname "$0")" && pwd)
RATE=${RATE:-20000} SECONDS_EACH=${DURATION:-20} PARTITIONS=${PARTITIONS:-16}
source "$BENCH/lib.sh"

echo "== broker ($PARTITIONS partitions per topic)"
start_broker "$PARTITIONS"

# Prints "p50 p99" bucket bounds (ms) of featmon_read_to_visible_seconds and the largest event-time lag (s).
daemon_figures() {
  curl -sf "http://127.0.0.1:$HTTP/metrics" | python3 -c '
import re, sys
text = sys.stdin.read()
b = [(float(m.group(1)), float(m.group(2))) for m in
     re.finditer(r"featmon_read_to_visible_seconds_bucket\{le=\"([^\"]+)\"\} (\S+)", text)]
total = b[-1][1]
q = lambda f: next(le for le, c in b if c >= f * total) * 1000
lags = [float(v) for v in re.findall(r"featmon_event_time_lag_seconds\{[^}]*\} (\S+)", text)]
print("%g %g %.2f %d" % (q(0.5), q(0.99), max(lags or [0]), total))'
}

RESULTS=()
CONFIGS=${CONFIGS:-"read_uncommitted:200ms read_uncommitted:1s read_uncommitted:5s read_committed:200ms read_committed:1s"}
for config in $CONFIGS; do
  config=${config/:/ }
  read -r isolation interval <<< "$config"
  echo "== featmond, http.isolation: $isolation, commit_interval: $interval, $RATE events/s for ${SECONDS_EACH}s"
  # Indented: the first line joins start_daemon's kafka: section.
  start_daemon "  properties: {auto.offset.reset: latest, fetch.wait.max.ms: 10}
ingest: {commit_interval: $interval}
http: {isolation: $isolation}
monitoring: {enabled: false}"
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$HTTP/readyz" > /dev/null && break; sleep 0.1; done
  sleep 1  # partitions assigned and positioned at their ends
  "$BUILD/tools/featmon-gen" --brokers "$BOOT" --rate "$RATE" --duration $((SECONDS_EACH + 4)) > /dev/null 2>> "$WORK/gen.err" &
  GEN=$!
  PIDS+=($GEN)
  sleep 2
  PROBE=$(/usr/bin/python3 "$BENCH/freshness_probe.py" "$BOOT" "$HTTP" "$SECONDS_EACH")
  FIGURES=$(daemon_figures)
  kill $GEN 2>/dev/null || true
  wait $GEN 2>/dev/null || true
  kill -TERM $DAEMON; wait $DAEMON || true
  echo "   probe: $PROBE; featmond: $FIGURES"
  RESULTS+=("$isolation|$interval|$PROBE|$FIGURES")
done

python3 - "$RATE" "${RESULTS[@]}" <<'PY'
import sys
rate, rows = int(sys.argv[1]), sys.argv[2:]
print(f"\n| lookups ({rate:,} events/s) | commit_interval | produce -> lookup p50 / p99 (probe) | read -> visible p50 / p99 (featmond) | event-time lag at the end | target |")
print("|---|---|---|---|---|---|")
for row in rows:
    isolation, interval, probe, figures = row.split("|")
    kv = dict(f.split("=") for f in probe.split())
    p50, p99, lag, events = figures.split()
    target = "read -> visible p99 <= 100 ms" if isolation == "read_uncommitted" else "(reference: visible at commit)"
    print(f"| {isolation} | {interval} | {float(kv['p50_ms']):.1f} / {float(kv['p99_ms']):.1f} ms ({kv['probes']} probes, {kv['missed']} missed) "
          f"| <= {p50} / <= {p99} ms ({int(float(events)):,} events) | {float(lag):.2f} s | {target} |")
PY
