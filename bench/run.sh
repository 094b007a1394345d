#!/usr/bin/env bash
# featmon benchmarks, one command (scripts/dev.sh bench calls this). Prints a
# table; every featmon figure stands beside a reference measured in the same
# run on the same machine:
#   ingest  2M events (1M users, 100k items) broker -> persisted state, exactly-once on,
#           vs a plain librdkafka consumer reading the same topics from the same broker
#   lookup  single-user GETs under wrk vs redis-benchmark HGETALL of the same features
#   size    bytes on disk and RSS after ingesting 1M users
# Env: EVENTS (2000000), USERS (1000000), ITEMS (100000), PARTITIONS (16 per topic),
#      DURATION (10 s per load test), CONNECTIONS (8, for wrk and redis-benchmark alike), FEATMON_CONFIG (extra YAML).
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build}
BUILD=$(cd "$BUILD" && pwd)
EVENTS=${EVENTS:-2000000} USERS=${USERS:-1000000} ITEMS=${ITEMS:-100000}
PARTITIONS=${PARTITIONS:-16} DURATION=${DURATION:-10} CONNECTIONS=${CONNECTIONS:-8}
source "$(dirname "$0")/lib.sh"
status() { curl -sf "http://127.0.0.1:$HTTP/v1/status"; }

echo "== broker ($PARTITIONS partitions per topic) and $EVENTS events from $USERS users, $ITEMS items"
start_broker "$PARTITIONS"
generate

echo "== reference: plain librdkafka consumer"
PLAIN=$("$BUILD/bench/plain_consumer" "$BOOT" "$PARTITIONS" "$EVENTS" views clicks)
PLAIN_RATE=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<< "$PLAIN")

echo "== featmond ingest with commit_interval 200ms (the default before lookups read the cache; it is 1s now)"
start_daemon "ingest: {commit_interval: 200ms}
${FEATMON_CONFIG:-}"
INGEST_200MS=$(time_ingest "$EVENTS")
kill -TERM $DAEMON; wait $DAEMON || true

echo "== featmond ingest, default config (exactly-once: state + offsets in one WriteBatch per commit)"
start_daemon "${FEATMON_CONFIG:-}"
INGEST=$(time_ingest "$EVENTS")
read -r INGEST_RATE _ INGEST_CPU <<< "$INGEST"
RSS_KB=$(awk '/VmRSS/ {print $2}' /proc/$DAEMON/status)
DISK=$(du -sb "$WORK/data" | cut -f1)
# Lookups are measured on settled state: wait (60 s at most) until RocksDB has
# no flush or compaction running or pending from the ingest burst.
for _ in $(seq 600); do
  status | python3 -c 'import json,sys; s=json.load(sys.stdin)["store"]; sys.exit(0 if s["running_compactions"]==0 and s["pending_compaction_bytes"]==0 else 1)' && break
  sleep 0.1
done
sync  # and the kernel has written back the burst's dirty pages
# Write amplification: what RocksDB wrote to disk for the ingest (WAL, flushes,
# compactions, from its statistics), per event ingested.
WRITTEN=$(status | python3 -c 'import json,sys; w=json.load(sys.stdin)["store"]["written_bytes"]; print(w["wal"], w["flush"], w["compaction"])')

echo "== lookups: wrk -c$CONNECTIONS and -c2, ${DURATION}s each, on /v1/features/user/{random of $USERS}"
WRK=$(USERS=$USERS wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$(dirname "$0")/lookup.lua" "http://127.0.0.1:$HTTP" | grep wrk_rps)
WRK2=$(USERS=$USERS wrk -t2 -c2 -d"${DURATION}s" -s "$(dirname "$0")/lookup.lua" "http://127.0.0.1:$HTTP" | grep wrk_rps)
# Time inside featmond (parse to response) from its own histogram: the 99th
# percentile's bucket bound, to tell server work from queueing on a busy box.
SERVER_P99=$(curl -sf "http://127.0.0.1:$HTTP/metrics" | python3 -c '
import re, sys
b = [(float(m.group(1)), float(m.group(2))) for m in
     re.finditer(r"featmon_http_request_duration_seconds_bucket\{route=\"features\",le=\"([^\"]+)\"\} (\S+)", sys.stdin.read())]
total = b[-1][1]
print(next(le for le, c in b if c >= 0.99 * total))')
kill -TERM $DAEMON; wait $DAEMON || true

echo "== reference: redis-benchmark HGETALL of the same features, one hash per user"
RPORT=$(free_port)
redis-server --port "$RPORT" --save '' --appendonly no --daemonize no > "$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
python3 "$(dirname "$0")/redis_load.py" "$USERS" | redis-cli -p "$RPORT" --pipe > /dev/null
REDIS=$(redis-benchmark -p "$RPORT" -c "$CONNECTIONS" --threads 2 -n $((DURATION * 40000)) -r "$USERS" --csv \
        hgetall "user:__rand_int__" | tail -1)
REDIS2=$(redis-benchmark -p "$RPORT" -c 2 --threads 2 -n $((DURATION * 20000)) -r "$USERS" --csv \
        hgetall "user:__rand_int__" | tail -1)
REDIS_RPS=$(cut -d, -f2 <<< "$REDIS" | tr -d '"')
# CSV columns: test, rps, avg, min, p50, p95, p99, max (ms)
REDIS_P50=$(cut -d, -f5 <<< "$REDIS" | tr -d '"')
REDIS_P99=$(cut -d, -f7 <<< "$REDIS" | tr -d '"')

kv() { sed "s/.*$1=\([0-9]*\).*/\1/" <<< "$2"; }
WRK_RPS=$(kv wrk_rps "$WRK") WRK_P50=$(kv p50_us "$WRK") WRK_P99=$(kv p99_us "$WRK")
WRK2_P50=$(kv p50_us "$WRK2") WRK2_P99=$(kv p99_us "$WRK2")
REDIS2_P50=$(cut -d, -f5 <<< "$REDIS2" | tr -d '"') REDIS2_P99=$(cut -d, -f7 <<< "$REDIS2" | tr -d '"')
python3 - "$INGEST_RATE" "$PLAIN_RATE" "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$REDIS_RPS" "$REDIS_P50" "$REDIS_P99" \
  "$DISK" "$RSS_KB" "$EVENTS" "$USERS" "$CONNECTIONS" "$WRK2_P50" "$WRK2_P99" "$REDIS2_P50" "$REDIS2_P99" \
  "${INGEST_200MS%% *}" "$SERVER_P99" "$INGEST_CPU" $WRITTEN <<'PY'
import sys, platform, os
ing, plain, rps, p50, p99, rrps, rp50, rp99, disk, rss, events, users, conns, l50, l99, rl50, rl99, ing1s, sp99, cpu_s, wal, flush, compaction = sys.argv[1:]
ing, plain, rps, rrps = float(ing), float(plain), float(rps), float(rrps)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"\nmachine: {os.cpu_count()} cores, {cpu}, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, {platform.platform()}\n")
print("| benchmark | featmon | reference | ratio | target |")
print("|---|---|---|---|---|")
print(f"| ingest, events/s ({int(events):,} events, exactly-once) | {ing:,.0f} | {plain:,.0f} (plain librdkafka read) | {ing/plain:.2f} | >= 500,000 and >= 0.5 |")
print(f"| ingest, events per CPU-second of featmond | {int(events)/float(cpu_s):,.0f} | | | >= 500,000 |")
print(f"| ingest, events/s, commit_interval 200ms | {float(ing1s):,.0f} | {plain:,.0f} (plain librdkafka read) | {float(ing1s)/plain:.2f} | |")
print(f"| lookup, requests/s ({conns} connections) | {rps:,.0f} | {rrps:,.0f} (redis HGETALL) | {rps/rrps:.2f} | >= 0.5 |")
print(f"| lookup p50 / p99, {conns} connections | {int(p50)/1000:.3f} / {int(p99)/1000:.3f} ms | {float(rp50):.3f} / {float(rp99):.3f} ms | | p99 < 1 ms |")
print(f"| lookup p50 / p99, 2 connections | {int(l50)/1000:.3f} / {int(l99)/1000:.3f} ms | {float(rl50):.3f} / {float(rl99):.3f} ms | | p99 < 1 ms |")
print(f"| lookup p99 inside featmond (all lookups above) | <= {float(sp99)*1000:.3f} ms | | | |")
wal, flush, compaction, n = int(wal), int(flush), int(compaction), int(events)
print(f"| bytes written to RocksDB per event: WAL + flush + compaction | {(wal + flush + compaction) / n:,.0f} = {wal / n:,.0f} + {flush / n:,.0f} + {compaction / n:,.0f} | | | |")
print(f"| bytes on disk, {int(users):,} users | {int(disk)/2**20:,.0f} MiB | | | |")
print(f"| RSS after ingest | {int(rss)/1024:,.0f} MiB | | | |")
PY
