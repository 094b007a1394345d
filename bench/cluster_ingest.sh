#!/usr/bin/env bash
# Cluster ingest (issue 13): the same topics read by 1, 2 and 3 featmond
# instances sharing a consumer group, each on a fresh data directory and a
# fresh group. Two cores cannot show instances scaling linearly, so beside
# events/s it reports events per CPU-second (the instances' user + system
# time together, from /proc): what each added instance costs.
# A 6 s session timeout, as in the integration tests: librdkafka's mock
# broker (2.0.2, and still upstream) ends a rebalance's sync as soon as the
# leader's SyncGroup has come, answering a follower whose SyncGroup comes
# after it with INVALID_REQUEST; the follower rejoins and the mock waits
# session.timeout.ms - 1 s for that join (rd_kafka_mock_cgrp_rebalance), so
# 4 of 34 starts of two instances stalled 44-46 s at the default 45 s
# (seen with debug=cgrp on 2026-12-07). A real broker holds the follower's
# SyncGroup until the leader's comes.
# Env: EVENTS (1000000), USERS (200000), ITEMS (20000), PARTITIONS (16).
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build}
BUILD=$(cd "$BUILD" && pwd)
EVENTS=${EVENTS:-1000000} USERS=${USERS:-200000} ITEMS=${ITEMS:-20000} PARTITIONS=${PARTITIONS:-16}
source "$(dirname "$0")/lib.sh"

echo "== broker ($PARTITIONS partitions per topic) and $EVENTS events from $USERS users, $ITEMS items"
start_broker "$PARTITIONS"
generate

# Prints "events/s seconds cpu_seconds" for $1 instances: seconds from the
# first assignment (/v1/status lists partitions; the consumed count is only
# published with commits, too late to start a clock on) to every event
# committed, and the CPU the instances used from their start (joining the
# group costs next to none).
run_cluster() {
  local n=$1 group=bench-cluster-$RANDOM$RANDOM ports=() pids=()
  for i in $(seq "$n"); do
    local port
    port=$(free_port)
    printf 'kafka:\n  group_id: %s\n  properties:\n    session.timeout.ms: "6000"\n    heartbeat.interval.ms: "500"\nmonitoring:\n  enabled: false\n' \
      "$group" > "$WORK/c$n-$i.yaml"
    "$BUILD/daemon/featmond" --config "$WORK/c$n-$i.yaml" --kafka-brokers "$BOOT" --data-dir "$WORK/c$n-$i" \
      --http-listen "127.0.0.1:$port" > "$WORK/c$n-$i.log" 2>&1 &
    pids+=($!) ports+=("$port")
    PIDS+=($!)
  done
  python3 - "$EVENTS" "${ports[*]}" "${pids[*]}" <<'PY'
import json, os, sys, time, urllib.request
events, ports, pids = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split()
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    total = 0
    for pid in pids:
        fields = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total
def status(port):
    try:
        return json.load(urllib.request.urlopen("http://127.0.0.1:%s/v1/status" % port))
    except Exception:
        return None
first, cpu0, deadline = None, 0.0, time.time() + 900  # cpu0: from the processes' start
while time.time() < deadline:
    st = [status(p) for p in ports]
    if all(st):
        if first is None and any(s["assigned_partitions"] for s in st):
            first = time.time()
        committed = sum(max(0, p["committed_offset"]) for s in st for p in s["assigned_partitions"])
        if first is not None and committed >= events:
            t = time.time() - first
            print("%.0f %.2f %.2f" % (events / t, t, cpu() - cpu0))
            break
    time.sleep(0.05)
else:
    raise SystemExit("the cluster did not commit %d events in 900 s" % events)
PY
  for p in "${pids[@]}"; do kill -TERM "$p"; done
  for p in "${pids[@]}"; do wait "$p" || true; done
}

declare -A RATE SECONDS_ CPU
for n in 1 2 3; do
  echo "== $n instance(s)"
  read -r RATE[$n] SECONDS_[$n] CPU[$n] <<< "$(run_cluster "$n")"
done
echo
echo "| instances in one group | events/s | seconds | CPU-seconds (all instances) | events per CPU-second |"
echo "|---|---|---|---|---|"
for n in 1 2 3; do
  python3 -c "import sys; r,s,c=map(float,sys.argv[2:]); print('| %s | {:,.0f} | %.1f | %.1f | {:,.0f} |'.format(r, $EVENTS/c) % (sys.argv[1], s, c))" \
    "$n" "${RATE[$n]}" "${SECONDS_[$n]}" "${CPU[$n]}"
done
