// Synthetic prediction streams with the shape of real ranking traffic, for
// judging monitoring decisions (bench/alarm_bench, tests/drift): traffic,
// one feature's mean, the device mix and the base CTR all follow the hour
// of day; the model is calibrated (each click is drawn with the score's own
// probability) unless a change says otherwise. Seeded, so a run repeats.
//
//   SeasonalStream stream(shape, change);
//   MonitorDriver driver(&monitor);
//   while (stream.NextTile(&tile)) { EvaluationOutput out = driver.Feed(tile); ... }
#pragma once

#include <cstdint>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "drift/monitor.h"
#include "drift/monitor_events.h"

namespace featmon::tools {

struct StreamShape {
  uint64_t seed = 1;
  int64_t start_ms = 1'700'006'400'000;  // a UTC midnight
  int64_t duration_ms = 26 * 3'600'000;
  double predictions_per_s = 11;         // mean over the day
  double traffic_amplitude = 0.5;        // traffic is mean * (1 + a sin(hour phase))
  double feature_amplitude = 1.0;        // "hour_signal" mean moves by this many sd through the day
  double device_amplitude = 0.2;         // the mobile share moves by this much
  double ctr_low = 0.02, ctr_high = 0.08;  // the base CTR moves between these through the day
  int64_t attribution_window_ms = 1'800'000;
  int64_t tile_ms = 300'000;             // predictions are handed out a tile at a time
};

// A stationary stream: flat traffic, features and CTR.
StreamShape Stationary(uint64_t seed, double ctr, int64_t duration_ms, double predictions_per_s);

struct StreamChange {
  enum Kind { kNone, kFeatureShift, kUnderPrediction, kBoth };
  Kind kind = kNone;
  int64_t at_ms = 0;
  double shift_sd = 0;          // "stable_a" moves by this many sd (kFeatureShift, kBoth)
  double click_factor = 1;      // true click probability = score * this (kUnderPrediction, kBoth)
};

// The shift of a unit normal's mean that gives this PSI on 10 equal-mass
// bins of the unshifted distribution (the default numeric binning).
double ShiftForPsi(double psi);

// A label as LabelJoiner would mature it: at the click, or at prediction +
// attribution window without one.
struct SimLabel {
  int64_t due_ms = 0;
  drift::MaturedLabel label;
  bool operator>(const SimLabel& o) const { return due_ms > o.due_ms; }
};

struct Tile {
  int64_t start_ms = 0, end_ms = 0;
  std::vector<drift::Prediction> predictions;  // in ts order
  std::vector<SimLabel> labels;                // of these predictions, any order
};

class SeasonalStream {
 public:
  SeasonalStream(StreamShape shape, StreamChange change = {}, std::string model = "ranker",
                 std::string version = "v1");
  // The next tile of predictions; false past the duration.
  bool NextTile(Tile* tile);
  uint64_t predictions() const { return predictions_; }

 private:
  double Phase(int64_t ts_ms) const;  // hour-of-day angle, 0 at midnight
  drift::Prediction Make(int64_t ts_ms, SimLabel* label);

  StreamShape shape_;
  StreamChange change_;
  std::string model_, version_;
  std::mt19937_64 rng_;
  int64_t next_tile_ms_;
  uint64_t predictions_ = 0;
};

// Feeds tiles to a Monitor as featmond does: the predictions, then the labels
// that matured by the tile's end (a click also counted at its time), then the
// evaluations up to that end.
class MonitorDriver {
 public:
  explicit MonitorDriver(drift::Monitor* monitor) : monitor_(monitor) {}
  drift::EvaluationOutput Feed(Tile& tile);

 private:
  drift::Monitor* monitor_;
  std::priority_queue<SimLabel, std::vector<SimLabel>, std::greater<>> pending_;
};

}  // namespace featmon::tools
