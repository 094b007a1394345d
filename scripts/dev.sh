#!/usr/bin/env bash
# featmon's developer entry point, the two commands the README opens with:
#   scripts/dev.sh demo   install what is missing, build, run featmond on its embedded
#                         broker with generated traffic (Ctrl-C, or DEMO_SECONDS=N)
#   scripts/dev.sh test   install what is missing, build, run every test
#   scripts/dev.sh bench  install what is missing, build, run the benchmarks (not in CI)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD_DIR:-$ROOT/build}

PACKAGES=(cmake g++ make pkg-config librdkafka-dev librocksdb-dev prometheus-cpp-dev libprotobuf-dev
          protobuf-compiler libboost-dev libboost-system-dev libgtest-dev libgmock-dev libbenchmark-dev
          libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libxxhash-dev curl python3)
BENCH_PACKAGES=(wrk redis-server redis-tools)

install_missing() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  echo "== installing: ${missing[*]}"
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  echo "== building in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j2
}

demo() {
  install_missing "${PACKAGES[@]}"
  build
  # Globals, not locals: the EXIT trap runs after this function has returned.
  DEMO_DATA=$(mktemp -d /tmp/featmon-demo.XXXXXX)
  local port=${DEMO_PORT:-8080}
  "$BUILD/daemon/featmond" --embedded-kafka --data-dir "$DEMO_DATA/data" --http-listen "127.0.0.1:$port" &
  DEMO_DAEMON=$!
  DEMO_GEN=""
  cleanup() {
    [[ -n $DEMO_GEN ]] && kill "$DEMO_GEN" 2>/dev/null || true
    kill -TERM "$DEMO_DAEMON" 2>/dev/null && wait "$DEMO_DAEMON" || true
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
  "$BUILD/tools/featmon-gen" --brokers "$bootstrap" --rate 2000 --users 10000 --items 2000 --format mixed &
  DEMO_GEN=$!
  cat <<MSG

== featmond is running on an embedded Kafka broker at $bootstrap, with featmon-gen sending 2,000 events/s.
   Look at it:
     curl -s localhost:$port/v1/features/user/u42
     curl -s localhost:$port/v1/features/item/i0
     curl -s -XPOST localhost:$port/v1/features/batch -d '{"entity":"user","ids":["u1","u2"]}'
     curl -s localhost:$port/v1/status
     curl -s localhost:$port/metrics | grep ^featmon_
   Send your own events: kcat -P -b $bootstrap -t views   (JSON such as {"user_id":"u1","item_id":"i1","ts_ms":$(date +%s%3N)})
   Ctrl-C stops it${DEMO_SECONDS:+ (or it stops by itself after $DEMO_SECONDS s)}.

MSG
  if [[ -n ${DEMO_SECONDS:-} ]]; then
    sleep "$DEMO_SECONDS"
    echo "== after ${DEMO_SECONDS}s: user u42 has"
    curl -s "localhost:$port/v1/features/user/u42"; echo
  else
    wait "$DEMO_DAEMON"
  fi
}

test_all() {
  install_missing "${PACKAGES[@]}"
  build
  echo "== running tests"
  ctest --test-dir "$BUILD" --output-on-failure --timeout 900
}

bench() {
  install_missing "${PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
  build
  "$BUILD/bench/drift_bench"
  "$ROOT/bench/run.sh" "$BUILD"
}

case "${1:-}" in
  demo) demo ;;
  test) test_all ;;
  bench) bench ;;
  *) echo "usage: scripts/dev.sh demo|test|bench"; exit 2 ;;
esac
