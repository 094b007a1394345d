// Load for fault tests: a producer thread writing views and clicks at a steady
// rate to a broker process while the test injects faults, feeding an oracle
// with every event it sends.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/integration/oracle.h"
#include "tools/producer.h"
#include "tools/traffic.h"

namespace featmon::testing {

struct LoadOptions {
  int events = 60'000;          // total views and clicks. Default: 60,000
  int per_second = 4'000;       // steady rate. Default: 4,000
  int64_t step_ms = 20;         // event-time step; the first event is 40 min before now. Default: 20
  unsigned seed = 1;            // traffic seed. Default: 1
  uint64_t users = 3'000, items = 800;  // entity counts. Default: 3,000 and 800
  bool predictions = false;     // also the ctr_ranker model's prediction for each view. Default: false
};

class LoadProducer {
 public:
  LoadProducer(const std::string& bootstrap, Oracle* oracle, LoadOptions options)
      : thread_([this, bootstrap, oracle, options] { Run(bootstrap, oracle, options); }) {}
  ~LoadProducer() { Join(); }
  // Waits until every event is sent and acknowledged; false if any failed.
  bool Join() {
    if (thread_.joinable()) thread_.join();
    return ok_;
  }
  // Views and clicks sent so far (predictions are not counted).
  int64_t sent() const { return sent_.load(); }
  int64_t newest_ts_ms() const { return newest_.load(); }
  // The newest event time on the topics model monitoring reads (predictions, clicks).
  int64_t newest_monitored_ts_ms() const { return newest_monitored_.load(); }

 private:
  void Run(const std::string& bootstrap, Oracle* oracle, const LoadOptions& o) {
    auto producer = SimpleProducer::Create(bootstrap);
    if (!producer.ok()) return;
    TrafficGenerator gen({.users = o.users, .items = o.items, .item_zipf_s = 1.0, .base_ctr = 0.15, .categories = 10,
                          .seed = o.seed});
    const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count() - 40 * 60'000;
    const auto start = std::chrono::steady_clock::now();
    const auto every = std::chrono::nanoseconds(1'000'000'000 / o.per_second);
    for (int i = 0; i < o.events; ++i) {
      while (std::chrono::steady_clock::now() - start < every * i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      GeneratedPrediction prediction;
      bool has_prediction = false;
      Event e = gen.Next(base + i * o.step_ms, o.predictions ? &prediction : nullptr, &has_prediction);
      oracle->Add(e);
      newest_ = e.ts_ms;
      if (has_prediction || e.type == EventType::kClick) newest_monitored_ = e.ts_ms;
      if (has_prediction &&
          !(*producer)->Send("predictions", e.user_id, EncodePrediction(prediction, WireFormat::kProtobuf)).ok())
        return;
      if (!(*producer)->Send(e.type == EventType::kView ? "views" : "clicks", e.user_id,
                             EncodeEvent(e, static_cast<WireFormat>(i % 3))).ok())
        return;
      sent_ = i + 1;
    }
    ok_ = (*producer)->Flush(120'000).ok() && (*producer)->failed() == 0;
  }

  std::atomic<int64_t> sent_{0}, newest_{0}, newest_monitored_{0};
  bool ok_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace featmon::testing
