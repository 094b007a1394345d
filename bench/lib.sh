# Shared by the ingest benchmarks (source it): a work directory cleaned on
# exit, a broker process, featmond on a fresh data directory and consumer
# group, and the ingest timer.
# shellcheck shell=bash
WORK=$(mktemp -d /tmp/featmon-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts featmon-broker with $1 partitions per topic (niced by BROKER_NICE)
# and sets BOOT to its bootstrap address. Further arguments are topics
# created besides featmon-broker's own.
start_broker() {
  local partitions=$1 topics=()
  shift
  (($#)) && topics=(--topics views clicks predictions featmon.dlq featmon.retrain featmon.examples "$@")
  nice -n "${BROKER_NICE:-0}" "$BUILD/tools/featmon-broker" --partitions "$partitions" "${topics[@]}" \
    > "$WORK/broker.out" 2> "$WORK/broker.err" &
  PIDS+=($!)
  for _ in $(seq 50); do [[ -s $WORK/broker.out ]] && break; sleep 0.1; done
  BOOT=$(head -1 "$WORK/broker.out")
}

# Produces $EVENTS events from $USERS users and $ITEMS items over the 3 hours
# of event time before now (NOW, set here); extra featmon-gen flags follow.
# lz4 batches keep millions of events inside the mock broker's ~5 MiB per
# partition.
generate() {
  NOW=$(date +%s%3N)
  "$BUILD/tools/featmon-gen" --brokers "$BOOT" --rate 0 --count "$EVENTS" --users "$USERS" --items "$ITEMS" \
    --start-ts-ms $((NOW - 3 * 3600 * 1000)) --step-ms $((3 * 3600 * 1000 / EVENTS)) \
    --producer-config compression.type=lz4,linger.ms=50 "$@" 2> "$WORK/gen.err"
}

# Starts featmond with extra YAML ($1) on a fresh data dir and consumer group;
# sets HTTP (its port) and DAEMON (its pid).
start_daemon() {
  HTTP=$(free_port)
  printf 'kafka:\n  group_id: bench-%s\n%s\n' "$RANDOM$RANDOM" "$1" > "$WORK/featmond.yaml"
  rm -rf "$WORK/data"
  "$BUILD/daemon/featmond" --config "$WORK/featmond.yaml" --kafka-brokers "$BOOT" --data-dir "$WORK/data" \
    --http-listen "127.0.0.1:$HTTP" > "$WORK/featmond.log" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}

# Prints "events/s seconds cpu_seconds" for $1 events: from featmond's first
# consumed message until every offset is committed with its state, and the
# CPU time featmond itself spent meanwhile (user + system, from /proc, so the
# broker's share does not count).
time_ingest() {
  HTTP=$HTTP EVENTS=$1 PID=$DAEMON python3 - <<'PY'
import json, os, time, urllib.request
url, events, pid = "http://127.0.0.1:%s/v1/status" % os.environ["HTTP"], int(os.environ["EVENTS"]), os.environ["PID"]
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick  # utime, stime
first, cpu0, deadline = None, 0.0, time.time() + 900
while time.time() < deadline:
    try:
        s = json.load(urllib.request.urlopen(url))
    except Exception:
        time.sleep(0.02); continue
    if s["consumed_total"] > 0 and first is None:
        first, cpu0 = time.time(), cpu()
    if first is not None and sum(max(0, p["committed_offset"]) for p in s["assigned_partitions"]) >= events:
        t = time.time() - first
        print("%.0f %.2f %.2f" % (events / t, t, cpu() - cpu0)); break
    time.sleep(0.02)
else:
    raise SystemExit("featmond did not commit %d events in 900 s" % events)
PY
}

# Starts featmond again on the data directory, group and port of the last
# start_daemon (a restart); sets DAEMON.
restart_daemon() {
  "$BUILD/daemon/featmond" --config "$WORK/featmond.yaml" --kafka-brokers "$BOOT" --data-dir "$WORK/data" \
    --http-listen "127.0.0.1:$HTTP" >> "$WORK/featmond.log" 2>&1 &
  DAEMON=$!
  PIDS+=($DAEMON)
}
