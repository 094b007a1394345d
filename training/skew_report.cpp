#include "training/skew_report.h"

#include <algorithm>
#include <cmath>

namespace featmon::training {

SkewReport::SkewReport(const FeatureSet* features) {
  for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
    const auto& list = features->features(kind);
    for (size_t i = 0; i < list.size(); ++i) {
      recomputed_.push_back({std::string(EntityKindName(kind)) + "." + list[i].name, kind, i});
      by_name_.emplace(recomputed_.back().name, recomputed_.size() - 1);
    }
  }
}

size_t SkewReport::Find(size_t position, const std::string& name) {
  if (position < last_logged_.size() && last_logged_[position].first == name) return last_logged_[position].second;
  auto it = by_name_.find(name);
  const size_t feature = it == by_name_.end() ? kNone : it->second;
  if (position == last_logged_.size()) last_logged_.emplace_back();
  last_logged_[position] = {name, feature};
  return feature;
}

void SkewReport::Compare(const TrainingExample& ex) {
  const uint64_t example = compared_++;
  for (size_t position = 0; position < ex.logged_numeric.size(); ++position) {
    const auto& [name, logged] = ex.logged_numeric[position];
    const size_t feature = Find(position, name);
    if (feature == kNone) continue;
    const Recomputed& r = recomputed_[feature];
    const FeatureValue& v = (r.kind == EntityKind::kUser ? ex.user : ex.item)[r.index];
    if (v.type != FeatureValue::Type::kInt && v.type != FeatureValue::Type::kDouble) continue;  // a list, or null
    const double diff = std::abs(logged - v.AsDouble());
    const bool differing = diff > std::max(1e-9, 1e-6 * std::max(std::abs(logged), std::abs(v.AsDouble())));
    if (held_.empty() || held_.back().example != example) held_.push_back({example, {}});
    held_.back().comparisons.push_back({feature, diff, differing});
  }
}

void SkewReport::Settle(const ExampleLabel& label) {
  const uint64_t example = settled_++;
  if (held_.empty() || held_.front().example != example) return;  // it logged no config feature's name
  if (label.matured) {
    for (const Comparison& c : held_.front().comparisons) {
      FeatureSkew& s = skew_[recomputed_[c.feature].name];
      ++s.compared;
      s.differing += c.differing;
      s.max_abs_difference = std::max(s.max_abs_difference, c.abs_difference);
    }
  }
  held_.pop_front();
}

}  // namespace featmon::training
