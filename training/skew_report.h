// Training-serving skew: for features a prediction logged under the name of
// a config feature ("user.ctr_7d", "item.views_24h"), how often the value the
// model was served differs from the one recomputed from the logs.
//
// Two values differ when they are further apart than 1e-6 of the larger
// (with a floor of 1e-9): logged values travel as doubles through JSON or
// protobuf, recomputed ones are exact.
#pragma once

#include <cstdint>
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

class SkewReport {
 public:
  explicit SkewReport(const FeatureSet* features);
  void Add(const TrainingExample& example);
  // By logged name, for the features compared at least once.
  const std::map<std::string, FeatureSkew>& features() const { return skew_; }

 private:
  // Logged name -> (kind, index into FeatureSet::features(kind)).
  std::map<std::string, std::pair<EntityKind, size_t>, std::less<>> recomputed_;
  std::map<std::string, FeatureSkew> skew_;
};

}  // namespace featmon::training
