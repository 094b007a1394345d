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
    const std::string* name;  // a key of recomputed_
    double abs_difference;
    bool differing;
  };
  struct Held {
    uint64_t example;  // its position among the compared examples
    std::vector<Comparison> comparisons;
  };
  // Logged name -> (kind, index into FeatureSet::features(kind)).
  std::map<std::string, std::pair<EntityKind, size_t>, std::less<>> recomputed_;
  std::map<std::string, FeatureSkew> skew_;
  std::deque<Held> held_;  // oldest first
  uint64_t compared_ = 0, settled_ = 0;
};

}  // namespace featmon::training
