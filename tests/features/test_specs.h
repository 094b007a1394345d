// The shipped default feature set, written out in C++ so that the pure-core
// tests do not depend on the YAML loader.
#pragma once

#include <vector>

#include "features/feature_spec.h"

namespace featmon::testing {

inline FeatureSpec Spec(std::string name, EntityKind entity, uint32_t sources, Aggregation agg,
                        int64_t window_ms = 0, EventField field = EventField::kNone) {
  FeatureSpec s;
  s.name = std::move(name);
  s.entity = entity;
  s.sources = sources;
  s.aggregation = agg;
  s.window_ms = window_ms;
  s.field = field;
  return s;
}

inline FeatureSpec Ratio(std::string name, EntityKind entity, std::string num, std::string den) {
  FeatureSpec s = Spec(std::move(name), entity, 0, Aggregation::kRatio);
  s.numerator = std::move(num);
  s.denominator = std::move(den);
  return s;
}

constexpr int64_t kMin = 60'000, kHour = 60 * kMin, kDay = 24 * kHour;
constexpr uint32_t kViews = SourceBit(EventType::kView), kClicks = SourceBit(EventType::kClick);

inline std::vector<FeatureSpec> DefaultSpecs() {
  std::vector<FeatureSpec> s;
  for (EntityKind e : {EntityKind::kUser, EntityKind::kItem}) {
    for (auto [w, suffix] : {std::pair{kHour, "1h"}, {kDay, "24h"}, {7 * kDay, "7d"}}) {
      s.push_back(Spec(std::string("views_") + suffix, e, kViews, Aggregation::kCount, w));
      s.push_back(Spec(std::string("clicks_") + suffix, e, kClicks, Aggregation::kCount, w));
    }
    s.push_back(Ratio("ctr_24h", e, "clicks_24h", "views_24h"));
    s.push_back(Ratio("ctr_7d", e, "clicks_7d", "views_7d"));
    if (e == EntityKind::kUser) {
      FeatureSpec last = Spec("last_clicked_items", e, kClicks, Aggregation::kLastNDistinct, 0, EventField::kItemId);
      last.n = 20;
      s.push_back(last);
      s.push_back(Spec("distinct_items_viewed_24h", e, kViews, Aggregation::kApproxDistinct, kDay, EventField::kItemId));
    } else {
      s.push_back(Spec("distinct_users_viewed_24h", e, kViews, Aggregation::kApproxDistinct, kDay, EventField::kUserId));
    }
    s.push_back(Spec("last_event_ts_ms", e, kViews | kClicks, Aggregation::kLatestTimestamp));
  }
  return s;
}

}  // namespace featmon::testing
