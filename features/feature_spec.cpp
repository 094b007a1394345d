#include "features/feature_spec.h"

#include <xxhash.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/duration.h"

namespace featmon {

std::string_view EventTypeName(EventType t) { return t == EventType::kView ? "views" : "clicks"; }
std::string_view EntityKindName(EntityKind k) { return k == EntityKind::kUser ? "user" : "item"; }

int64_t DefaultTileMs(int64_t window_ms) {
  constexpr int64_t kHour = 3600'000;
  if (window_ms < 12 * kHour) return 5 * 60'000;
  if (window_ms < 12 * 24 * kHour) return kHour;
  return 24 * kHour;
}

namespace {

Status SpecError(const FeatureSpec& s, const std::string& what) {
  return Status::InvalidArgument("feature '" + s.name + "' (" + std::string(EntityKindName(s.entity)) +
                                 "): " + what);
}

// The series a spec reads, without id and retention.
Result<SeriesSpec> SeriesFor(const FeatureSpec& s) {
  SeriesSpec series;
  series.sources = s.sources;
  series.field = s.field;
  if (s.sources == 0) return SpecError(s, "sources must name at least one of views, clicks");
  const bool windowed = s.window_ms > 0;
  switch (s.aggregation) {
    case Aggregation::kCount:
      series.kind = SeriesKind::kTiledCount;
      series.field = EventField::kNone;
      break;
    case Aggregation::kSum:
      if (s.field != EventField::kValue) return SpecError(s, "sum needs field: value");
      series.kind = SeriesKind::kTiledSum;
      break;
    case Aggregation::kApproxDistinct:
      if (s.field == EventField::kNone || s.field == EventField::kValue)
        return SpecError(s, "approx_distinct needs field: one of user_id, item_id, category, request_id");
      series.kind = SeriesKind::kTiledDistinct;
      break;
    case Aggregation::kLastNDistinct:
      if (s.field == EventField::kNone || s.field == EventField::kValue)
        return SpecError(s, "last_n_distinct needs field: one of user_id, item_id, category, request_id");
      if (s.n < 1 || s.n > 1000) return SpecError(s, "n must be between 1 and 1000");
      if (windowed) return SpecError(s, "last_n_distinct keeps the newest values over the entity's lifetime; remove window");
      series.kind = SeriesKind::kLastN;
      series.n = s.n;
      break;
    case Aggregation::kLatestTimestamp:
      if (windowed) return SpecError(s, "latest_timestamp has no window; remove it");
      series.kind = SeriesKind::kLatestTs;
      series.field = EventField::kNone;
      break;
    case Aggregation::kDecayedCount:
      if (s.half_life_ms <= 0) return SpecError(s, "decayed_count needs half_life > 0");
      if (windowed) return SpecError(s, "decayed_count has no window (its half_life bounds it); remove window");
      series.kind = SeriesKind::kDecayed;
      series.half_life_ms = s.half_life_ms;
      series.field = EventField::kNone;
      break;
    case Aggregation::kRatio:
      return Status::Internal("ratio has no series");
  }
  if (series.tiled()) {
    if (!windowed) return SpecError(s, "window is required for count, sum and approx_distinct");
    series.tile_ms = s.tile_ms > 0 ? s.tile_ms : DefaultTileMs(s.window_ms);
    if (series.tile_ms < 1000) return SpecError(s, "tile must be at least 1s");
    if (s.window_ms % series.tile_ms != 0)
      return SpecError(s, "window " + FormatDurationMs(s.window_ms) + " is not a multiple of tile " +
                              FormatDurationMs(series.tile_ms));
  }
  return series;
}

uint32_t SeriesId(const SeriesSpec& s) {
  // Retention is left out on purpose: widening a window keeps the state.
  std::string sig = std::to_string(static_cast<int>(s.kind)) + "|" + std::to_string(s.sources) + "|" +
                    std::to_string(static_cast<int>(s.field)) + "|" + std::to_string(s.tile_ms) + "|" +
                    std::to_string(s.n) + "|" + std::to_string(s.half_life_ms);
  return XXH32(sig.data(), sig.size(), 0x46454154);
}

bool SameSeries(const SeriesSpec& a, const SeriesSpec& b) {
  return a.kind == b.kind && a.sources == b.sources && a.field == b.field && a.tile_ms == b.tile_ms &&
         a.n == b.n && a.half_life_ms == b.half_life_ms;
}

}  // namespace

Result<FeatureSet> FeatureSet::Compile(const std::vector<FeatureSpec>& specs) {
  FeatureSet set;
  std::set<std::pair<int, std::string>> names;
  // First pass: everything but ratios, which refer to other features by name.
  for (const FeatureSpec& spec : specs) {
    if (spec.name.empty()) return Status::InvalidArgument("a feature has no name");
    if (!names.insert({static_cast<int>(spec.entity), spec.name}).second)
      return SpecError(spec, "defined twice");
    if (spec.aggregation == Aggregation::kRatio) continue;
    Result<SeriesSpec> wanted = SeriesFor(spec);
    if (!wanted.ok()) return wanted.status();
    auto& series = set.series_[Idx(spec.entity)];
    int index = -1;
    for (size_t i = 0; i < series.size(); ++i) {
      if (SameSeries(series[i], *wanted)) index = static_cast<int>(i);
    }
    if (index < 0) {
      wanted->id = SeriesId(*wanted);
      for (const auto& other : series) {
        if (other.id == wanted->id) return SpecError(spec, "series id collision; rename or change the feature");
      }
      series.push_back(*wanted);
      index = static_cast<int>(series.size()) - 1;
    }
    SeriesSpec& s = series[index];
    s.retention_ms = std::max(s.retention_ms, spec.window_ms);
    set.longest_window_ms_ = std::max(set.longest_window_ms_, spec.window_ms);
    CompiledFeature f;
    f.name = spec.name;
    f.aggregation = spec.aggregation;
    f.series = index;
    f.window_ms = spec.window_ms;
    f.n = spec.n;
    set.features_[Idx(spec.entity)].push_back(f);
  }
  for (const FeatureSpec& spec : specs) {
    if (spec.aggregation != Aggregation::kRatio) continue;
    auto& features = set.features_[Idx(spec.entity)];
    auto find = [&](const std::string& name) -> int {
      for (size_t i = 0; i < features.size(); ++i) {
        if (features[i].name == name && (features[i].aggregation == Aggregation::kCount ||
                                         features[i].aggregation == Aggregation::kSum ||
                                         features[i].aggregation == Aggregation::kDecayedCount))
          return static_cast<int>(i);
      }
      return -1;
    };
    CompiledFeature f;
    f.name = spec.name;
    f.aggregation = Aggregation::kRatio;
    f.numerator = find(spec.numerator);
    f.denominator = find(spec.denominator);
    if (f.numerator < 0) return SpecError(spec, "numerator '" + spec.numerator + "' is not a count, sum or decayed_count feature of this entity");
    if (f.denominator < 0) return SpecError(spec, "denominator '" + spec.denominator + "' is not a count, sum or decayed_count feature of this entity");
    features.push_back(f);
  }
  for (int k = 0; k < kEntityKindCount; ++k) {
    for (const SeriesSpec& s : set.series_[k]) {
      if (!s.tiled()) continue;
      for (int t = 0; t < kEventTypeCount; ++t) {
        auto& rules = set.late_rules_[t];
        const std::pair<int64_t, int64_t> rule{s.tile_ms, s.retention_ms};
        if ((s.sources & SourceBit(static_cast<EventType>(t))) && std::find(rules.begin(), rules.end(), rule) == rules.end())
          rules.push_back(rule);
      }
    }
  }
  // Keep the config's order in answers: ratios were appended last, so reorder by spec order.
  for (int k = 0; k < kEntityKindCount; ++k) {
    auto& features = set.features_[k];
    std::map<std::string, int> order;
    for (size_t i = 0; i < specs.size(); ++i) {
      if (static_cast<int>(specs[i].entity) == k) order[specs[i].name] = static_cast<int>(i);
    }
    std::vector<CompiledFeature> sorted = features;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [&](const CompiledFeature& a, const CompiledFeature& b) { return order[a.name] < order[b.name]; });
    std::map<std::string, int> new_index;
    for (size_t i = 0; i < sorted.size(); ++i) new_index[sorted[i].name] = static_cast<int>(i);
    for (auto& f : sorted) {
      if (f.aggregation == Aggregation::kRatio) {
        f.numerator = new_index[features[f.numerator].name];
        f.denominator = new_index[features[f.denominator].name];
      }
    }
    features = std::move(sorted);
  }
  return set;
}

int FeatureSet::SeriesIndexById(EntityKind k, uint32_t id) const {
  const auto& series = series_[Idx(k)];
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

bool FeatureSet::IsLate(EventType type, int64_t ts_ms, int64_t stream_time_ms) const {
  const auto& rules = late_rules_[static_cast<int>(type)];
  for (const auto& [tile_ms, window_ms] : rules) {
    // Visible at as_of = stream time iff its tile is after the window's first excluded tile.
    if (TileOf(ts_ms, tile_ms) > TileOf(stream_time_ms - window_ms, tile_ms)) return false;
  }
  return !rules.empty();
}

}  // namespace featmon
