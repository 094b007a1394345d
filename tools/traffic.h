// Synthetic click/view traffic for demos, tests and benchmarks: items drawn
// from a Zipf distribution (a few are very popular), users with their own
// click propensity (log-normal around a base CTR), clicks following views of
// the same (user, item, request). Deterministic for a given seed and the
// timestamps it is handed; it never reads a clock.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "features/event.h"

namespace featmon {

struct TrafficOptions {
  uint64_t users = 1'000'000;   // distinct users. Default: 1,000,000
  uint64_t items = 100'000;     // distinct items. Default: 100,000
  double item_zipf_s = 1.0;     // Zipf exponent of item popularity. Default: 1.0
  double base_ctr = 0.05;       // median click probability of a view. Default: 0.05
  int categories = 40;          // item categories. Default: 40
  uint64_t seed = 1;            // same seed, same stream. Default: 1
};

class TrafficGenerator {
 public:
  explicit TrafficGenerator(TrafficOptions options);
  // The next event, stamped ts_ms: a view, or the click that a previous view earned.
  Event Next(int64_t ts_ms);

 private:
  uint64_t ZipfItem();
  TrafficOptions options_;
  std::mt19937_64 rng_;
  std::vector<double> item_cdf_;
  std::vector<float> user_propensity_;
  bool pending_click_ = false;
  Event pending_;
  uint64_t produced_ = 0;
};

enum class WireFormat { kProtobuf, kJson, kConfluent };
// Encodes an event as featmond accepts it.
std::string EncodeEvent(const Event& e, WireFormat format);

}  // namespace featmon
