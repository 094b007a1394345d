#!/usr/bin/env bash
# Restart after SIGKILL (scripts/dev.sh bench runs this): how soon a featmond
# holding USERS users' state serves it again. featmond ingests EVENTS events,
# answers a sample of 500 users, is killed with SIGKILL and started again on
# the same data directory; the figures are seconds from that start until
#   /healthz answers, /readyz answers 200, every sampled user answers as
#   before the kill, the shard filters are rebuilt (lookups skip shards
#   again), and featmond consumes again (the consumer group gave it its
#   partitions back, after the dead member's session timed out).
# The reference is the same start on an empty data directory, until /healthz.
# Env: EVENTS (2000000), USERS (1000000), ITEMS (100000), PARTITIONS (16).
set -euo pipefail
BUILD=${1:-$(dirname "$0")/../build}
BUILD=$(cd "$BUILD" && pwd)
EVENTS=${EVENTS:-2000000} USERS=${USERS:-1000000} ITEMS=${ITEMS:-100000} PARTITIONS=${PARTITIONS:-16}
source "$(dirname "$0")/lib.sh"

echo "== broker ($PARTITIONS partitions per topic) and $EVENTS events from $USERS users, $ITEMS items"
start_broker "$PARTITIONS"
generate

# Prints seconds from START_NS (time.time_ns) until each milestone, as
# "healthz ready answers filters consuming"; with SAMPLE_OUT it first saves the
# sample's answers, with SAMPLE_IN it waits until they are the same again.
milestones() {
  HTTP=$HTTP USERS=$USERS AS_OF=$NOW START_NS=$1 SAMPLE_IN=${2:-} SAMPLE_OUT=${3:-} python3 - <<'PY'
import json, os, random, time, urllib.request
base, start = "http://127.0.0.1:%s" % os.environ["HTTP"], int(os.environ["START_NS"]) / 1e9
random.seed(11)
ids = ["u%d" % random.randrange(int(os.environ["USERS"])) for _ in range(500)]
def get(path, body=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, data=body), timeout=2) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception:
        return None, None
def answers():
    status, body = get("/v1/features/batch", json.dumps({"entity": "user", "ids": ids, "as_of_ms": int(os.environ["AS_OF"])}).encode())
    return json.loads(body)["results"] if status == 200 else None
if os.environ["SAMPLE_OUT"]:
    json.dump(answers(), open(os.environ["SAMPLE_OUT"], "w"))
expected = json.load(open(os.environ["SAMPLE_IN"])) if os.environ["SAMPLE_IN"] else None
found = {}
deadline = time.time() + 180
while time.time() < deadline and len(found) < (5 if expected else 1):
    now = time.time() - start
    if "healthz" not in found and get("/healthz")[0] == 200:
        found["healthz"] = now
    if expected is None:
        continue
    if "ready" not in found and get("/readyz")[0] == 200:
        found["ready"] = now
    if "answers" not in found and answers() == expected:
        found["answers"] = now
    if "consuming" not in found or "filters" not in found:
        status, body = get("/v1/status")
        if status == 200:
            s = json.loads(body)
            if s["assigned_partitions"] and "consuming" not in found:
                found["consuming"] = now
            if s["store"].get("shard_filters_complete", True) and "filters" not in found:
                found["filters"] = now
    time.sleep(0.01)
print(" ".join("%.2f" % found[k] if k in found else "-" for k in ("healthz", "ready", "answers", "filters", "consuming")))
PY
}

echo "== featmond ingests, answers 500 users, is killed with SIGKILL"
start_daemon ""
INGEST=$(time_ingest "$EVENTS")
milestones "$(date +%s%N)" "" "$WORK/sample.json" > /dev/null
ENTITIES=$(curl -sf "http://127.0.0.1:$HTTP/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["entities_estimate"])')
kill -KILL "$DAEMON"; wait "$DAEMON" 2>/dev/null || true

echo "== restart on the same data directory"
START=$(date +%s%N)
restart_daemon
read -r HEALTHZ READY ANSWERS FILTERS CONSUMING <<< "$(milestones "$START" "$WORK/sample.json")"
kill -TERM "$DAEMON"; wait "$DAEMON" || true

echo "== reference: the same start on an empty data directory"
rm -rf "$WORK/data"
START=$(date +%s%N)
restart_daemon
read -r EMPTY_HEALTHZ _ <<< "$(milestones "$START")"
kill -TERM "$DAEMON"; wait "$DAEMON" || true

cat <<TABLE

| restart after SIGKILL, $ENTITIES entities (estimate), $EVENTS events ingested (${INGEST%% *} events/s) | seconds from start | target |
|---|---|---|
| /healthz answers | $HEALTHZ (empty data directory: $EMPTY_HEALTHZ) | |
| /readyz answers 200 | $READY | <= 2 |
| 500 sampled users answer as before the kill | $ANSWERS | <= 2 |
| shard filters rebuilt (lookups read one or two shards again) | $FILTERS | |
| consuming again (the group returned the partitions) | $CONSUMING | |
TABLE
