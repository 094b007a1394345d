#!/usr/bin/env bash
# featmon's developer entry point, the two commands the README opens with:
#   scripts/dev.sh demo   install what is missing, build, run featmond on its embedded
#                         broker with generated traffic (Ctrl-C, or DEMO_SECONDS=N)
#   scripts/dev.sh test   install what is missing, build, run every test
#   scripts/dev.sh bench  install what is missing, build, run the benchmarks (not in CI)
#   scripts/dev.sh build  install what is missing, build (the Dockerfile's build stage runs this);
#                         FEATMON_CMAKE_ARGS adds configure flags
#   scripts/dev.sh fuzz   the libFuzzer targets, FEATMON_FUZZ_SECONDS (default 600) each (not in CI)
#   scripts/dev.sh soak   the crash test at 100 kills and 400,000 events (not in CI)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD_DIR:-$ROOT/build}

PACKAGES=(cmake g++ make pkg-config librdkafka-dev librocksdb-dev prometheus-cpp-dev libprotobuf-dev
          protobuf-compiler libboost-dev libboost-system-dev libgtest-dev libgmock-dev libbenchmark-dev
          libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libsimdjson-dev libprotozero-dev libabsl-dev libxxhash-dev libjemalloc-dev libsystemd-dev curl python3)
# The deployment tests run the real programs: systemd-analyze, promtool,
# Prometheus, Alertmanager, kubectl (Debian's kubernetes-client, unless a
# kubectl is already installed).
# The sanitizer builds and the fuzzers need clang with its runtimes and
# llvm-symbolizer for readable reports.
CLANG_PACKAGES=(clang libclang-rt-14-dev llvm)
TEST_PACKAGES=(systemd prometheus prometheus-alertmanager python3-yaml python3-pandas chromium python3-websocket
               "${CLANG_PACKAGES[@]}")
BENCH_PACKAGES=(wrk redis-server redis-tools kcat python3-confluent-kafka)

install_missing() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  echo "== installing: ${missing[*]}"
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Arguments are extra configure flags. -g1 keeps the line tables and function
# names perf, callgrind and a backtrace need; full debug info (-g) made every
# compile about 40% slower (20 s against 14 s for http_client.cpp).
build() {
  echo "== building in $BUILD"
  # shellcheck disable=SC2086  # FEATMON_CMAKE_ARGS is a list of flags
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" "$@" ${FEATMON_CMAKE_ARGS:-} >/dev/null
  cmake --build "$BUILD" -j2
}

demo() {
  install_missing "${PACKAGES[@]}"
  build
  # Globals, not locals: the EXIT trap runs after this function has returned.
  DEMO_DATA=$(mktemp -d /tmp/featmon-demo.XXXXXX)
  local port=${DEMO_PORT:-8080} hook_port=${DEMO_WEBHOOK_PORT:-8090}
  DEMO_GEN="" DEMO_HOOK=""
  # A webhook receiver that prints the retrain requests featmond POSTs.
  python3 - "$hook_port" <<'PY' &
import http.server, json, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        print("\n== webhook: featmond asks for retraining\n" + json.dumps(body, indent=2), flush=True)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
PY
  DEMO_HOOK=$!
  # 32 partitions: the embedded (mock) broker keeps only the newest ~5 MiB of
  # each, and featmon-export below reads the whole day back.
  printf 'kafka:\n  embedded_partitions: 32\nmonitoring:\n  webhooks: [http://127.0.0.1:%s/retrain]\n' "$hook_port" \
    > "$DEMO_DATA/featmon.yaml"
  "$BUILD/daemon/featmond" --config "$DEMO_DATA/featmon.yaml" --embedded-kafka --data-dir "$DEMO_DATA/data" \
    --http-listen "127.0.0.1:$port" &
  DEMO_DAEMON=$!
  cleanup() {
    [[ -n $DEMO_GEN ]] && kill "$DEMO_GEN" 2>/dev/null || true
    kill -TERM "$DEMO_DAEMON" 2>/dev/null && wait "$DEMO_DAEMON" || true
    [[ -n $DEMO_HOOK ]] && kill "$DEMO_HOOK" 2>/dev/null || true
    rm -rf "$DEMO_DATA"
  }
  trap cleanup EXIT
  trap 'exit 0' INT TERM
  local bootstrap=""
  for _ in $(seq 100); do
    bootstrap=$(curl -sf "http://127.0.0.1:$port/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["embedded_kafka_bootstrap"])' 2>/dev/null) && break
    sleep 0.1
  done
  [[ -n $bootstrap ]] || { echo "featmond did not start"; exit 1; }
  # A day and a few hours of history in seconds: views, clicks and the
  # ctr_ranker model's predictions, with a feature (dwell_prev_s) shifted an
  # hour ago. The default seasonal reference judges each hour against the
  # same time the day before, so it needs that day.
  local now; now=$(date +%s%3N)
  echo "== replaying 27 hours of traffic with a drift injected an hour ago"
  "$BUILD/tools/featmon-gen" --brokers "$bootstrap" --rate 0 --users 10000 --items 2000 --predictions \
    --start-ts-ms $((now - 27 * 3600 * 1000)) --step-ms 500 --count 194400 --drift shift --drift-after 93600
  # Then live traffic, no drift.
  "$BUILD/tools/featmon-gen" --brokers "$bootstrap" --rate 2000 --users 10000 --items 2000 --format mixed --predictions &
  DEMO_GEN=$!
  for _ in $(seq 120); do
    curl -sf "localhost:$port/v1/monitoring/models/ctr_ranker" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["last_retrain_request"] else 1)' 2>/dev/null && break
    sleep 0.5
  done
  cat <<MSG

== featmond is running on an embedded Kafka broker at $bootstrap, with featmon-gen sending 2,000 events/s
   and the predictions of model ctr_ranker. Look at it:
     in a browser: http://localhost:$port/ui/  (the models, their drift and accuracy; a user's or item's features)
     curl -s localhost:$port/v1/features/user/u42
     curl -s -XPOST localhost:$port/v1/features/batch -d '{"entity":"user","ids":["u1","u2"]}'
     curl -s localhost:$port/v1/monitoring/models/ctr_ranker | python3 -m json.tool
     curl -s localhost:$port/metrics | grep -E '^featmon_(drift_detected|retrain|model_)'
     curl -s localhost:$port/v1/status
   Send your own events: kcat -P -b $bootstrap -t views   (JSON such as {"user_id":"u1","item_id":"i1","ts_ms":$(date +%s%3N)})
   Ctrl-C stops it${DEMO_SECONDS:+ (or it stops by itself after $DEMO_SECONDS s)}.

MSG
  echo "== model monitoring of ctr_ranker v1:"
  curl -s "localhost:$port/v1/monitoring/models/ctr_ranker" | python3 -c '
import json, sys
r = json.load(sys.stdin); v = r["versions"]["v1"]
for f in v["features"] + [v["prediction_drift"]]:
    print("   %-14s %-10s %s = %s" % (f.get("feature"), f.get("status"), f.get("rule", {}).get("statistic"), f.get("value")))
p = v["performance"]
print("   performance: log loss %s, calibration %s, AUC %s" % (p.get("logloss"), p.get("calibration_ratio"), p.get("auc")))
req = r["last_retrain_request"]
if req:
    print("== retrain requested at event time %s for: %s" % (req["event_time_ms"], ", ".join(
        "%s/%s %s=%.3f" % (x["signal"], x["feature"], x["statistic"], x["value"]) for x in req["reasons"])))
else:
    print("== no retrain request yet")
'
  echo "== the model page as one file to attach to a ticket or a retrain request (it opens with no network):"
  "$BUILD/tools/featmon-report" --url "http://localhost:$port" --model ctr_ranker --out "$DEMO_DATA/ctr_ranker.html"
  close_the_loop "$bootstrap" "$port"
  if [[ -n ${DEMO_SECONDS:-} ]]; then
    sleep "$DEMO_SECONDS"
    echo "== after ${DEMO_SECONDS}s: user u42 has"
    curl -s "localhost:$port/v1/features/user/u42"; echo
  else
    wait "$DEMO_DAEMON"
  fi
}

# The retraining job's side: the retrain request's fresh_data range handed to
# featmon-export, and the labeled examples featmond writes as labels mature.
close_the_loop() {
  local bootstrap=$1 port=$2 range
  range=$(curl -s "localhost:$port/v1/monitoring/models/ctr_ranker" | python3 -c '
import json, sys
req = json.load(sys.stdin)["last_retrain_request"]
if req: print(req["fresh_data"]["start_ms"], req["fresh_data"]["end_ms"])')
  [[ -n $range ]] || return 0
  read -r from_ms to_ms <<<"$range"
  echo
  echo "== the retraining job: featmon-export --from-ms $from_ms --to-ms $to_ms (the request's fresh_data)"
  "$BUILD/tools/featmon-export" --brokers "$bootstrap" --config "$DEMO_DATA/featmon.yaml" --model ctr_ranker \
    --out "$DEMO_DATA/training" --from-ms "$from_ms" --to-ms "$to_ms"
  echo "== $DEMO_DATA/training/train.csv, some columns of three rows from its middle:"
  python3 - "$DEMO_DATA/training/train.csv" <<'PY'
import csv, itertools, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cols = ["ts_ms", "user_id", "item_id", "score", "label", "logged.dwell_prev_s", "user.views_24h", "user.ctr_7d", "item.ctr_24h"]
print("   " + " ".join("%-14s" % c for c in cols))
for row in itertools.islice(rows, len(rows) // 2, len(rows) // 2 + 3):
    print("   " + " ".join("%-14s" % row.get(c, "")[:14] for c in cols))
PY
  echo "== featmon.examples, written by featmond as labels mature:"
  # The export above takes a few seconds; the monitor's next commits confirm
  # the day's examples (177k) a few seconds after they matured.
  for _ in $(seq 60); do
    curl -s "localhost:$port/metrics" | grep -q '^featmon_examples_delivered_total' && break
    sleep 0.5
  done
  curl -s "localhost:$port/metrics" | grep -E '^featmon_(examples|labels_matured)'
}

test_all() {
  install_missing "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  command -v kubectl >/dev/null || install_missing kubernetes-client
  # The integration tests start real brokers and daemons and spend their time
  # waiting on them: they run once, under ASan+UBSan, below. The g++ build
  # runs the unit tests, the deployment and page tests on the shipped binaries,
  # and flood_test, whose memory bounds need a build without ASan.
  build -DFEATMON_BUILD_INTEGRATION_TESTS=OFF
  echo "== running the unit, deployment and page tests (the integration tests run under ASan+UBSan, below)"
  ctest --test-dir "$BUILD" -j2 --output-on-failure --timeout 900
  sanitized_tests
}

# The unit and integration suites again under AddressSanitizer and
# UndefinedBehaviorSanitizer (clang), with every libFuzzer target for
# FEATMON_FUZZ_SECONDS (10: a smoke run; scripts/dev.sh fuzz runs 600) from
# its seed corpus; then the concurrent parts (label `concurrent`) under
# ThreadSanitizer. featmond as a whole cannot run
# under TSan: Debian's librdkafka starts its threads with C11 thrd_create,
# which TSan does not intercept (see tests/CMakeLists.txt).
# Line tables are all a sanitizer report needs, and full debug info is a
# large part of these builds' compile and link time.
SANITIZER_FLAGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG"
                 "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG")
asan_build() {
  echo "== building with ASan+UBSan and the fuzzers in $ROOT/build-asan"
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$ROOT/build-asan" "${SANITIZER_FLAGS[@]}" \
    -DFEATMON_SANITIZE=address,undefined -DFEATMON_FUZZ=ON -DFEATMON_BUILD_BENCH=OFF >/dev/null
  cmake --build "$ROOT/build-asan" -j2
}
sanitized_tests() {
  asan_build
  echo "== running the unit tests and the fuzzers (10 s each) under ASan+UBSan, two at a time"
  FEATMON_FUZZ_SECONDS=${FEATMON_FUZZ_SECONDS:-10} \
    ctest --test-dir "$ROOT/build-asan" -L 'unit|fuzz' -LE integration -j2 --output-on-failure --timeout 900
  # The TSan build runs meanwhile at the lowest priority: the integration
  # tests mostly wait on brokers and daemons, and it takes only the CPU they
  # leave.
  echo "== building the concurrent parts with TSan in $ROOT/build-tsan, in the background ($ROOT/build-tsan.log)"
  (CC=clang CXX=clang++ nice -n 19 cmake -S "$ROOT" -B "$ROOT/build-tsan" "${SANITIZER_FLAGS[@]}" \
     -DFEATMON_SANITIZE=thread -DFEATMON_BUILD_BENCH=OFF >/dev/null &&
   nice -n 19 cmake --build "$ROOT/build-tsan" -j2 --target featmon_concurrent_tests) > "$ROOT/build-tsan.log" 2>&1 &
  local tsan_build=$!
  # Two at a time; the ones that load both cores or time things closely run
  # alone (their PROCESSORS property, tests/integration/CMakeLists.txt).
  echo "== running the integration tests under ASan+UBSan"
  ctest --test-dir "$ROOT/build-asan" -L integration -j2 --output-on-failure --timeout 900
  if ! wait "$tsan_build"; then
    tail -50 "$ROOT/build-tsan.log"
    echo "the TSan build failed (above; all of it in $ROOT/build-tsan.log)" >&2
    return 1
  fi
  echo "== running the concurrent parts under TSan"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir "$ROOT/build-tsan" -L concurrent --output-on-failure --timeout 900
}

fuzz() {
  install_missing "${PACKAGES[@]}" "${CLANG_PACKAGES[@]}"
  asan_build
  FEATMON_FUZZ_SECONDS=${FEATMON_FUZZ_SECONDS:-600} ctest --test-dir "$ROOT/build-asan" -L fuzz --output-on-failure \
    --timeout 0
}

soak() {
  install_missing "${PACKAGES[@]}"
  build -DFEATMON_BUILD_INTEGRATION_TESTS=ON
  FEATMON_CRASH_KILLS=${FEATMON_CRASH_KILLS:-100} FEATMON_CRASH_EVENTS=${FEATMON_CRASH_EVENTS:-400000} \
    FEATMON_CRASH_PARTITIONS=${FEATMON_CRASH_PARTITIONS:-32} "$BUILD/tests/integration/kill_restart_test"
}

bench() {
  install_missing "${PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
  build
  "$BUILD/bench/drift_bench"
  "$BUILD/bench/alarm_bench"
  "$BUILD/bench/codec_bench"
  "$BUILD/bench/changelog_restore"
  "$ROOT/bench/run.sh" "$BUILD"
  "$ROOT/bench/json_ingest.sh" "$BUILD"
  "$ROOT/bench/restart.sh" "$BUILD"
  "$ROOT/bench/freshness.sh" "$BUILD"
  "$ROOT/bench/monitoring.sh" "$BUILD"
  "$ROOT/bench/export.sh" "$BUILD"
  "$ROOT/bench/cluster_lookups.sh" "$BUILD"
  "$ROOT/bench/cluster_ingest.sh" "$BUILD"
  "$ROOT/bench/changelog_ingest.sh" "$BUILD"
  "$ROOT/bench/repartition_ingest.sh" "$BUILD"
  "$ROOT/bench/standby_failover.sh" "$BUILD"
}

case "${1:-}" in
  demo) demo ;;
  test) test_all ;;
  bench) bench ;;
  build) install_missing "${PACKAGES[@]}"; build ;;
  fuzz) fuzz ;;
  soak) soak ;;
  *) echo "usage: scripts/dev.sh demo|test|bench|build|fuzz|soak"; exit 2 ;;
esac
