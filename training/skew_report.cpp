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

void SkewReport::Compare(const TrainingExample& ex) {
  const uint64_t example = compared_++;
  for (const auto& [name, logged] : ex.logged_numeric) {
    auto it = recomputed_.find(name);
    if (it == recomputed_.end()) continue;
    const auto [kind, index] = it->second;
    const FeatureValue& v = (kind == EntityKind::kUser ? ex.user : ex.item)[index];
    if (v.type != FeatureValue::Type::kInt && v.type != FeatureValue::Type::kDouble) continue;  // a list, or null
    const double diff = std::abs(logged - v.AsDouble());
    const bool differing = diff > std::max(1e-9, 1e-6 * std::max(std::abs(logged), std::abs(v.AsDouble())));
    if (held_.empty() || held_.back().example != example) held_.push_back({example, {}});
    held_.back().comparisons.push_back({&it->first, diff, differing});
  }
}

void SkewReport::Settle(const ExampleLabel& label) {
  const uint64_t example = settled_++;
  if (held_.empty() || held_.front().example != example) return;  // it logged no config feature's name
  if (label.matured) {
    for (const Comparison& c : held_.front().comparisons) {
      FeatureSkew& s = skew_[*c.name];
      ++s.compared;
      s.differing += c.differing;
      s.max_abs_difference = std::max(s.max_abs_difference, c.abs_difference);
    }
  }
  held_.pop_front();
}

}  // namespace featmon::training
