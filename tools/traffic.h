// Synthetic click/view traffic for demos, tests and benchmarks: items drawn
// from a Zipf distribution (a few are very popular), users with their own
// click propensity (log-normal around a base CTR), clicks following views of
// the same (user, item, request). Optionally each view comes with the
// prediction a CTR model made for it (calibrated: its score is the click
// probability), and a drift can be injected from a chosen event time.
// Deterministic for a given seed and the timestamps it is handed; it never
// reads a clock.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "features/event.h"

namespace featmon {

enum class Drift {
  kNone,
  kFeatureShift,       // numeric feature `drift_feature` moves by drift_size of its standard deviations
  kCategoryReshuffle,  // categorical feature "device": values permuted
  kCalibration,        // true click rate x drift_size while scores stay: the model under-predicts
  kScoreShift,         // scores x drift_size (capped at 0.99): prediction drift
};
// "none", "shift", "reshuffle", "calibration", "score"; false when unknown.
bool ParseDrift(const std::string& name, Drift* out);

struct GeneratedPrediction {
  std::string request_id, user_id, item_id, model, model_version;
  double score = 0;
  int64_t ts_ms = 0;
  std::vector<std::pair<std::string, double>> features;
  std::vector<std::pair<std::string, std::string>> cat_features;
};

struct TrafficOptions {
  uint64_t users = 1'000'000;   // distinct users. Default: 1,000,000
  uint64_t items = 100'000;     // distinct items. Default: 100,000
  double item_zipf_s = 1.0;     // Zipf exponent of item popularity. Default: 1.0
  double base_ctr = 0.05;       // median click probability of a view. Default: 0.05
  int categories = 40;          // item categories. Default: 40
  uint64_t seed = 1;            // same seed, same stream. Default: 1
  std::string model = "ctr_ranker";   // PredictionEvent.model. Default: ctr_ranker
  std::string model_version = "v1";   // PredictionEvent.model_version. Default: v1
  Drift drift = Drift::kNone;         // injected from drift_at_ms on. Default: none
  int64_t drift_at_ms = 0;            // event time the drift starts. Default: 0
  double drift_size = 3.0;            // see Drift. Default: 3
  std::string drift_feature = "dwell_prev_s";  // kFeatureShift's feature. Default: dwell_prev_s
};

class TrafficGenerator {
 public:
  explicit TrafficGenerator(TrafficOptions options);
  // The next event, stamped ts_ms: a view, or the click that a previous view
  // earned. With `prediction`, a view also fills in its prediction and
  // returns it through *has_prediction.
  Event Next(int64_t ts_ms, GeneratedPrediction* prediction = nullptr, bool* has_prediction = nullptr);

 private:
  uint64_t ZipfItem();
  TrafficOptions options_;
  std::mt19937_64 rng_;
  std::mt19937_64 feature_rng_;  // predictions draw from their own stream: views and clicks stay as without them
  std::vector<double> item_cdf_;
  std::vector<float> user_propensity_;
  bool pending_click_ = false;
  Event pending_;
  uint64_t produced_ = 0;
};

enum class WireFormat { kProtobuf, kJson, kConfluent };
// Encodes an event as featmond accepts it.
std::string EncodeEvent(const Event& e, WireFormat format);
std::string EncodePrediction(const GeneratedPrediction& p, WireFormat format);

}  // namespace featmon
