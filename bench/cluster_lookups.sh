#!/usr/bin/env bash
# What a lookup proxied to its owner costs against a local one (issue 13):
# two featmond instances in one consumer group, with advertised URLs, over
# the same users. Three wrk runs of the same length and connections:
#   local     users instance A holds, asked of A
#   proxied   users instance B holds, asked of A (A forwards each to B over a
#             pooled keep-alive connection)
#   owner     the same users as `proxied`, asked of B directly (the reference)
# Both instances and wrk share the machine's cores, so the proxied figure
# also pays for the second process's CPU.
# Env: EVENTS (200000), USERS (100000), ITEMS (20000), PARTITIONS (8), DURATION (10 s), CONNECTIONS (8),
#      HTTP_THREADS (each instance's http.threads; featmond's default, 2).
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build}
BUILD=$(cd "$BUILD" && pwd)
EVENTS=${EVENTS:-200000} USERS=${USERS:-100000} ITEMS=${ITEMS:-20000}
PARTITIONS=${PARTITIONS:-8} DURATION=${DURATION:-10} CONNECTIONS=${CONNECTIONS:-8}
source "$(dirname "$0")/lib.sh"

echo "== broker ($PARTITIONS partitions per topic) and $EVENTS events from $USERS users"
start_broker "$PARTITIONS"
generate
GROUP=bench-cluster-$RANDOM$RANDOM
start_instance() {  # $1: name; sets PORT_$1
  local port
  port=$(free_port)
  printf 'kafka:\n  group_id: %s\nmonitoring:\n  enabled: false\nhttp:\n  threads: %s\n' "$GROUP" "${HTTP_THREADS:-2}" \
    > "$WORK/$1.yaml"
  "$BUILD/daemon/featmond" --config "$WORK/$1.yaml" --kafka-brokers "$BOOT" --data-dir "$WORK/$1" \
    --http-listen "127.0.0.1:$port" --advertised-url "http://127.0.0.1:$port" > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  printf -v "PORT_$1" '%s' "$port"
}
start_instance a
start_instance b
echo "== waiting until both hold tasks, every event is committed and both are announced"
python3 - "$PORT_a" "$PORT_b" "$EVENTS" <<'PY'
import json, sys, time, urllib.request
ports, events = sys.argv[1:3], int(sys.argv[3])
def get(port, path):
    try:
        return json.load(urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path)))
    except Exception:
        return None
deadline = time.time() + 600
while time.time() < deadline:
    st = [get(p, "/v1/status") for p in ports]
    cl = [get(p, "/v1/cluster") for p in ports]
    if all(st) and all(cl) and all(s["tasks"]["held"] > 0 for s in st) \
            and sum(s["tasks"]["held"] for s in st) == st[0]["tasks"]["total"] \
            and sum(max(0, p["committed_offset"]) for s in st for p in s["assigned_partitions"]) >= events \
            and all(not c["unclaimed_tasks"] and len(c["members"]) == 2 for c in cl):
        print("tasks held: a %d, b %d" % (st[0]["tasks"]["held"], st[1]["tasks"]["held"]))
        break
    time.sleep(0.2)
else:
    raise SystemExit("the two instances did not settle in 600 s")
PY

echo "== which users each instance holds (asked with X-Featmon-Forwarded, so nothing is proxied)"
python3 - "$PORT_a" "$USERS" "$WORK" <<'PY'
import sys, urllib.request, urllib.error
port, users, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
mine, theirs = [], []
for i in range(0, users, max(1, users // 4000)):
    req = urllib.request.Request("http://127.0.0.1:%s/v1/features/user/u%d" % (port, i), headers={"X-Featmon-Forwarded": "1"})
    try:
        urllib.request.urlopen(req).read()
        mine.append("u%d" % i)
    except urllib.error.HTTPError as e:
        if e.code != 503: raise
        theirs.append("u%d" % i)
open(work + "/a_users", "w").write("\n".join(mine) + "\n")
open(work + "/b_users", "w").write("\n".join(theirs) + "\n")
print("sampled %d users: %d held by a, %d by b" % (len(mine) + len(theirs), len(mine), len(theirs)))
PY

run_wrk() {  # $1: port, $2: users file
  USERS_FILE=$2 wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$(dirname "$0")/cluster_lookup.lua" "http://127.0.0.1:$1" | grep wrk_rps
}
echo "== wrk -c$CONNECTIONS, ${DURATION}s each"
LOCAL=$(run_wrk "$PORT_a" "$WORK/a_users")
PROXIED=$(run_wrk "$PORT_a" "$WORK/b_users")
OWNER=$(run_wrk "$PORT_b" "$WORK/b_users")
FORWARDED=$(curl -s "http://127.0.0.1:$PORT_a/metrics" | awk '/^featmon_lookups_forwarded_total/ {print $2}')
python3 - "$LOCAL" "$PROXIED" "$OWNER" "$FORWARDED" <<'PY'
import sys
def kv(s): return {k: float(v) for k, v in (p.split("=") for p in s.split())}
local, proxied, owner, forwarded = kv(sys.argv[1]), kv(sys.argv[2]), kv(sys.argv[3]), float(sys.argv[4])
print("\n| lookups (wrk, same users per row pair) | requests/s | p50 ms | p99 ms | errors, non-2xx |")
print("|---|---|---|---|---|")
for name, r in (("local: a's users asked of a", local), ("proxied: b's users asked of a", proxied),
                ("reference: b's users asked of b", owner)):
    print("| %s | %s | %.3f | %.3f | %d, %d |" % (name, format(int(r["wrk_rps"]), ","), r["p50_us"] / 1000,
                                               r["p99_us"] / 1000, r["errors"], r["non2xx"]))
print("\nproxied / reference: %.2fx the throughput, +%.3f ms at p50; a forwarded %s lookups"
      % (proxied["wrk_rps"] / owner["wrk_rps"], (proxied["p50_us"] - owner["p50_us"]) / 1000, format(int(forwarded), ",")))
PY
