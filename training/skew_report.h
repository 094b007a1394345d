// Training-serving skew: for features a prediction logged under the name of
// a config feature ("user.ctr_7d", "item.views_24h"), how often the value the
// model was served differs from the one recomputed from the logs.
//
// Two values differ when they are further apart than 1e-6 of the larger
// (with a floor of 1e-9): logged values travel as doubles through JSON or
// protobuf, recomputed ones are exact.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/string_map.h"
#include "features/feature_engine.h"
#include "training/point_in_time_join.h"

namespace featmon::training {

struct FeatureSkew {
  uint64_t compared = 0;
  uint64_t differing = 0;
  double max_abs_difference = 0;
};

// Examples are compared as they are handed out, at prediction time, and
// counted once their labels say they are exported (Settle), so the report
// covers the exported rows. Only the comparisons of examples that logged a
// config feature's name are held until then.
class SkewReport {
 public:
  explicit SkewReport(const FeatureSet* features);
  // Each example PointInTimeJoin hands out, in that order.
  void Compare(const TrainingExample& example);
  // Each label, in the order the join hands them out: the oldest compared
  // example counts if its label matured.
  void Settle(const ExampleLabel& label);
  // By logged name, for the features compared at least once.
  const std::map<std::string, FeatureSkew>& features() const { return skew_; }

 private:
  struct Comparison {
    size_t feature;  // index into recomputed_
    double abs_difference;
    bool differing;
  };
  struct Recomputed {
    std::string name;  // "user.<name>", "item.<name>"
    EntityKind kind;
    size_t index;      // into FeatureSet::features(kind)
  };
  struct Held {
    uint64_t example;  // its position among the compared examples
    std::vector<Comparison> comparisons;
  };
  // Every feature of the config, and by name: a lookup per logged value.
  std::vector<Recomputed> recomputed_;
  StringMap<size_t> by_name_;
  // A model logs the same names in the same order prediction after
  // prediction: the last example's, with what by_name_ found (kNone: not
  // a config feature), compared first.
  static constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<std::pair<std::string, size_t>> last_logged_;
  size_t Find(size_t position, const std::string& name);
  std::map<std::string, FeatureSkew> skew_;
  std::deque<Held> held_;  // oldest first
  uint64_t compared_ = 0, settled_ = 0;
};

}  // namespace featmon::training
