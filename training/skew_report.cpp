#include "training/skew_report.h"

#include <algorithm>
#include <cmath>

namespace featmon::training {

SkewReport::SkewReport(const FeatureSet* features) {
  for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
    const auto& list = features->features(kind);
    for (size_t i = 0; i < list.size(); ++i)
      recomputed_[std::string(EntityKindName(kind)) + "." + list[i].name] = {kind, i};
  }
}

void SkewReport::Add(const TrainingExample& ex) {
  for (const auto& [name, logged] : ex.logged_numeric) {
    auto it = recomputed_.find(name);
    if (it == recomputed_.end()) continue;
    const auto [kind, index] = it->second;
    const FeatureValue& v = (kind == EntityKind::kUser ? ex.user : ex.item)[index];
    if (v.type != FeatureValue::Type::kInt && v.type != FeatureValue::Type::kDouble) continue;  // a list, or null
    const double diff = std::abs(logged - v.AsDouble());
    FeatureSkew& s = skew_[name];
    ++s.compared;
    if (diff > std::max(1e-9, 1e-6 * std::max(std::abs(logged), std::abs(v.AsDouble())))) ++s.differing;
    s.max_abs_difference = std::max(s.max_abs_difference, diff);
  }
}

}  // namespace featmon::training
