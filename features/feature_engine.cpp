#include "features/feature_engine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <type_traits>
#include <unordered_map>

#include "common/duration.h"

namespace featmon {

namespace {

std::string_view FieldOf(const Event& e, EventField f) {
  switch (f) {
    case EventField::kUserId: return e.user_id;
    case EventField::kItemId: return e.item_id;
    case EventField::kCategory: return e.category;
    case EventField::kRequestId: return e.request_id;
    default: return {};
  }
}

// Finds or inserts the tile, keeping the list sorted. Events arrive mostly in
// order, so the newest tile is checked first.
template <typename V>
V& TileFor(Tiles<V>& tiles, int64_t tile) {
  if (!tiles.empty() && tiles.back().first == tile) return tiles.back().second;
  if (tiles.empty() || tiles.back().first < tile) return tiles.emplace_back(tile, V{}).second;
  auto it = std::lower_bound(tiles.begin(), tiles.end(), tile,
                             [](const auto& p, int64_t t) { return p.first < t; });
  if (it != tiles.end() && it->first == tile) return it->second;
  return tiles.insert(it, {tile, V{}})->second;
}

// Drops tiles at or before `cutoff`, which no window ending at or after the
// entity's latest event can see.
template <typename V>
void Prune(Tiles<V>& tiles, int64_t cutoff) {
  auto it = std::find_if(tiles.begin(), tiles.end(), [cutoff](const auto& p) { return p.first > cutoff; });
  tiles.erase(tiles.begin(), it);
}

// Tile range (first, last] a window of `window_ms` ending at as_of reads.
struct TileRange {
  int64_t after;  // exclusive
  int64_t last;   // inclusive
  bool Contains(int64_t t) const { return t > after && t <= last; }
};
TileRange RangeFor(int64_t as_of_ms, int64_t window_ms, int64_t tile_ms) {
  return {TileOf(as_of_ms - window_ms, tile_ms), TileOf(as_of_ms, tile_ms)};
}

double Decay(double value, int64_t from_ms, int64_t to_ms, int64_t half_life_ms) {
  return value * std::exp2(-static_cast<double>(to_ms - from_ms) / static_cast<double>(half_life_ms));
}

void InsertLastN(LastNState& s, std::string_view value, int64_t ts, int n) {
  auto& v = s.values;
  auto same = std::find_if(v.begin(), v.end(), [&](const auto& p) { return p.first == value; });
  if (same != v.end()) {
    if (same->second >= ts) return;  // an older click of a value we already hold
    v.erase(same);
  }
  // Newest first; equal timestamps keep arrival order (the later one after).
  auto pos = std::find_if(v.begin(), v.end(), [ts](const auto& p) { return p.second < ts; });
  if (pos - v.begin() >= n) return;
  v.insert(pos, {std::string(value), ts});
  if (static_cast<int>(v.size()) > n) v.pop_back();
}

// A windowed count's or sum's tiles in `range`, added over the shards in tile order.
template <typename V>
V TotalInRange(std::span<const EntityState* const> shards, int series, TileRange range) {
  V total{};
  for (const EntityState* s : shards)
    for (const auto& [tile, value] : std::get<Tiles<V>>(s->series[series]))
      if (range.Contains(tile)) total += value;
  return total;
}

template <typename V>
V& TailTotal(WindowTail& t);
template <>
int64_t& TailTotal<int64_t>(WindowTail& t) { return t.count; }
template <>
double& TailTotal<double>(WindowTail& t) { return t.sum; }

// Folds the tiles after the tail's `upto` and before the newest into it, in
// tile order (the order Read adds them in).
template <typename V>
void ExtendAdditiveTail(const Tiles<V>& tiles, WindowTail& t) {
  if (tiles.empty() || tiles.back().first - 1 <= t.upto) return;
  auto it = std::upper_bound(tiles.begin(), tiles.end(), t.upto, [](int64_t u, const auto& p) { return u < p.first; });
  for (; it + 1 < tiles.end(); ++it) TailTotal<V>(t) += it->second;
  t.upto = tiles.back().first - 1;
}

void UnbuildTail(WindowTail& t) {
  t.after = WindowTail::kUnbuilt;
  t.distinct.reset();
}

// A windowed count or sum read from its tail, when the read's window ends at
// or after the series' newest tile; else nullopt (Read walks the tiles).
template <typename V>
std::optional<V> ReadAdditiveTail(const Tiles<V>& tiles, TileRange range, WindowTail& t) {
  if (!tiles.empty() && tiles.back().first > range.last) return std::nullopt;
  if (std::is_integral_v<V> && t.built() && range.after > t.after && range.after < t.upto) {
    // Counts slide: subtracting is exact (a sum rebuilds, to keep Read's order).
    for (const auto& [tile, v] : tiles) {
      if (tile > range.after) break;
      if (tile > t.after) TailTotal<V>(t) -= v;
    }
    t.after = range.after;
  } else if (!t.built() || range.after != t.after) {
    UnbuildTail(t);
    t.after = t.upto = range.after;
    TailTotal<V>(t) = V{};
  }
  ExtendAdditiveTail(tiles, t);
  // Plus the tiles after upto: the newest, if any.
  V total = TailTotal<V>(t);
  if (!tiles.empty() && tiles.back().first > t.upto) total += tiles.back().second;
  return total;
}

// A windowed distinct count read from its tail, under the same condition.
std::optional<int64_t> ReadDistinctTail(const Tiles<HyperLogLog>& tiles, TileRange range, WindowTail& t) {
  if (!tiles.empty() && tiles.back().first > range.last) return std::nullopt;
  if (!t.built() || range.after != t.after) {
    t.after = range.after;
    t.distinct = std::make_unique<WindowTail::Distinct>();
    for (const auto& [tile, hll] : tiles)
      if (tile > range.after) t.distinct->sketch.Merge(hll);
    t.distinct->histogram = t.distinct->sketch.Histogram();  // all zero while sparse
  }
  WindowTail::Distinct& d = *t.distinct;
  if (d.estimate < 0)
    d.estimate = d.sketch.is_sparse() ? d.sketch.Estimate() : HyperLogLog::EstimateDense(d.histogram);
  return static_cast<int64_t>(std::llround(d.estimate));
}

}  // namespace

FeatureEngine::FeatureEngine(const FeatureSet* set) : set_(set) {
  for (EntityKind kind : {EntityKind::kUser, EntityKind::kItem}) {
    const int k = static_cast<int>(kind);
    auto& by_series = windowed_features_[k];
    by_series.resize(set_->series(kind).size());
    const auto& features = set_->features(kind);
    tail_of_[k].assign(features.size(), kNoTail);
    for (size_t fi = 0; fi < features.size(); ++fi) {
      if (features[fi].series < 0 || !set_->series(kind)[features[fi].series].tiled()) continue;
      tail_of_[k][fi] = tail_count_[k]++;
      by_series[features[fi].series].emplace_back(fi, tail_of_[k][fi]);
    }
  }
}

void FeatureEngine::UpdateTails(EntityKind kind, size_t series, int64_t tile, int64_t cutoff, const Event& event,
                                WindowTails* tails) const {
  const SeriesSpec& spec = set_->series(kind)[series];
  for (const auto& [fi, tail] : windowed_features_[static_cast<int>(kind)][series]) {
    WindowTail& t = tails->tails[tail];
    if (t.built() && cutoff > t.after) UnbuildTail(t);  // pruning may have dropped a tile it holds
    if (!t.built() || tile <= t.after || tile <= cutoff) continue;
    switch (spec.kind) {
      case SeriesKind::kTiledCount:
        if (tile <= t.upto) t.count += 1;
        break;
      case SeriesKind::kTiledSum:
        if (tile <= t.upto) UnbuildTail(t);  // a late event: adding it now would change the order of the sum
        break;
      case SeriesKind::kTiledDistinct: {
        std::string_view value = FieldOf(event, spec.field);
        WindowTail::Distinct& d = *t.distinct;
        const bool was_sparse = d.sketch.is_sparse();
        HyperLogLog::RegisterRise rise;
        if (value.empty() || !d.sketch.Add(value, &rise)) break;
        d.estimate = -1;
        if (was_sparse && !d.sketch.is_sparse()) {
          d.histogram = d.sketch.Histogram();
        } else if (!d.sketch.is_sparse()) {
          --d.histogram[rise.from];
          ++d.histogram[rise.to];
        }
        break;
      }
      default:
        break;
    }
  }
}

void FeatureEngine::Apply(const Event& event, EntityKind kind, EntityState* state, StateChanges* changes,
                          WindowTails* tails) const {
  const auto& specs = set_->series(kind);
  if (state->series.size() != specs.size()) *state = NewEntityState(*set_, kind);
  if (tails && tails->tails.size() != tail_count_[static_cast<int>(kind)])
    tails->tails = std::vector<WindowTail>(tail_count_[static_cast<int>(kind)]);
  state->last_event_ts_ms = std::max(state->last_event_ts_ms, event.ts_ms);
  const uint32_t bit = SourceBit(event.type);
  for (size_t i = 0; i < specs.size(); ++i) {
    const SeriesSpec& spec = specs[i];
    if (!(spec.sources & bit)) continue;
    if (changes) changes->Mark(i, event.ts_ms);
    SeriesState& series = state->series[i];
    const int64_t tile = spec.tiled() ? TileOf(event.ts_ms, spec.tile_ms) : 0;
    const int64_t cutoff = spec.tiled() ? TileOf(state->last_event_ts_ms - spec.retention_ms, spec.tile_ms) : 0;
    switch (spec.kind) {
      case SeriesKind::kTiledCount: {
        auto& tiles = std::get<Tiles<int64_t>>(series);
        if (tile > cutoff) TileFor(tiles, tile) += 1;
        Prune(tiles, cutoff);
        break;
      }
      case SeriesKind::kTiledSum: {
        auto& tiles = std::get<Tiles<double>>(series);
        if (tile > cutoff) TileFor(tiles, tile) += event.value;
        Prune(tiles, cutoff);
        break;
      }
      case SeriesKind::kTiledDistinct: {
        auto& tiles = std::get<Tiles<HyperLogLog>>(series);
        std::string_view value = FieldOf(event, spec.field);
        if (tile > cutoff && !value.empty()) TileFor(tiles, tile).Add(value);
        Prune(tiles, cutoff);
        break;
      }
      case SeriesKind::kLastN: {
        std::string_view value = FieldOf(event, spec.field);
        if (!value.empty()) InsertLastN(std::get<LastNState>(series), value, event.ts_ms, spec.n);
        break;
      }
      case SeriesKind::kLatestTs: {
        auto& s = std::get<LatestTsState>(series);
        s.ts_ms = std::max(s.ts_ms, event.ts_ms);
        break;
      }
      case SeriesKind::kDecayed: {
        auto& s = std::get<DecayedState>(series);
        if (s.ref_ts_ms == 0) {
          s = {1.0, event.ts_ms};
        } else if (event.ts_ms >= s.ref_ts_ms) {
          s.value = Decay(s.value, s.ref_ts_ms, event.ts_ms, spec.half_life_ms) + 1.0;
          s.ref_ts_ms = event.ts_ms;
        } else {
          s.value += Decay(1.0, event.ts_ms, s.ref_ts_ms, spec.half_life_ms);
        }
        break;
      }
    }
    if (tails && spec.tiled()) UpdateTails(kind, i, tile, cutoff, event, tails);
  }
}

const SeriesSpec* FeatureEngine::TiledSeries(EntityKind kind, size_t feature) const {
  const CompiledFeature& f = set_->features(kind).at(feature);
  if (f.series < 0) return nullptr;  // a ratio reads other features, not a series
  const SeriesSpec& spec = set_->series(kind)[f.series];
  return spec.kind == SeriesKind::kTiledCount || spec.kind == SeriesKind::kTiledSum ? &spec : nullptr;
}

std::vector<std::pair<int64_t, double>> FeatureEngine::ReadTiles(EntityKind kind,
                                                                 const std::vector<const EntityState*>& shards,
                                                                 size_t feature, int64_t as_of_ms) const {
  const SeriesSpec* tiled = TiledSeries(kind, feature);
  if (tiled == nullptr) return {};
  const SeriesSpec& spec = *tiled;
  const CompiledFeature& f = set_->features(kind)[feature];
  const TileRange range = RangeFor(as_of_ms, f.window_ms, spec.tile_ms);
  std::map<int64_t, double> merged;
  for (const EntityState* s : shards) {
    const SeriesState& series = s->series[f.series];
    if (spec.kind == SeriesKind::kTiledCount) {
      for (const auto& [tile, count] : std::get<Tiles<int64_t>>(series))
        if (range.Contains(tile)) merged[tile] += static_cast<double>(count);
    } else {
      for (const auto& [tile, sum] : std::get<Tiles<double>>(series))
        if (range.Contains(tile)) merged[tile] += sum;
    }
  }
  std::vector<std::pair<int64_t, double>> out;
  out.reserve(merged.size());
  for (const auto& [tile, value] : merged) out.emplace_back(tile * spec.tile_ms, value);
  return out;
}

std::vector<FeatureValue> FeatureEngine::Read(EntityKind kind, const std::vector<const EntityState*>& shards,
                                              int64_t as_of_ms) const {
  const auto& features = set_->features(kind);
  std::vector<FeatureValue> out(features.size());
  for (size_t fi = 0; fi < features.size(); ++fi)
    if (features[fi].aggregation != Aggregation::kRatio) out[fi] = ReadFeature(kind, fi, shards, as_of_ms);
  ReadRatios(kind, &out);
  return out;
}

void FeatureEngine::ReadWithTails(EntityKind kind, const EntityState& state, int64_t as_of_ms, WindowTails* tails,
                                  std::vector<FeatureValue>* values) const {
  const auto& specs = set_->series(kind);
  const auto& features = set_->features(kind);
  if (state.series.size() != specs.size()) {  // never applied to: defaults
    *values = Read(kind, {&state}, as_of_ms);
    return;
  }
  const EntityState* const one_shard[] = {&state};  // no vector to allocate per read
  const std::span<const EntityState* const> shards(one_shard);
  const std::vector<size_t>& tail_of = tail_of_[static_cast<int>(kind)];
  if (tails->tails.size() != tail_count_[static_cast<int>(kind)])
    tails->tails = std::vector<WindowTail>(tail_count_[static_cast<int>(kind)]);
  std::vector<FeatureValue>& out = *values;
  out.resize(features.size());
  for (size_t fi = 0; fi < features.size(); ++fi) {
    const CompiledFeature& f = features[fi];
    if (f.aggregation == Aggregation::kRatio) continue;
    const SeriesSpec& spec = specs[f.series];
    const SeriesState& series = state.series[f.series];
    if (spec.tiled()) {
      WindowTail& tail = tails->tails[tail_of[fi]];
      const TileRange range = RangeFor(as_of_ms, f.window_ms, spec.tile_ms);
      if (spec.kind == SeriesKind::kTiledCount) {
        if (auto v = ReadAdditiveTail(std::get<Tiles<int64_t>>(series), range, tail)) {
          out[fi] = FeatureValue::Int(*v);
          continue;
        }
      } else if (spec.kind == SeriesKind::kTiledSum) {
        if (auto v = ReadAdditiveTail(std::get<Tiles<double>>(series), range, tail)) {
          out[fi] = FeatureValue::Double(*v);
          continue;
        }
      } else if (auto v = ReadDistinctTail(std::get<Tiles<HyperLogLog>>(series), range, tail)) {
        out[fi] = FeatureValue::Int(*v);
        continue;
      }
    }
    out[fi] = ReadFeature(kind, fi, shards, as_of_ms);
  }
  ReadRatios(kind, &out);
}

FeatureValue FeatureEngine::ReadFeature(EntityKind kind, size_t fi, std::span<const EntityState* const> shards,
                                        int64_t as_of_ms) const {
  const CompiledFeature& f = set_->features(kind)[fi];
  const SeriesSpec& spec = set_->series(kind)[f.series];
  const TileRange range = spec.tiled() ? RangeFor(as_of_ms, f.window_ms, spec.tile_ms) : TileRange{0, 0};
  switch (spec.kind) {
    case SeriesKind::kTiledCount:
      return FeatureValue::Int(TotalInRange<int64_t>(shards, f.series, range));
    case SeriesKind::kTiledSum:
      return FeatureValue::Double(TotalInRange<double>(shards, f.series, range));
    case SeriesKind::kTiledDistinct: {
      HyperLogLog merged;
      for (const EntityState* s : shards) {
        for (const auto& [tile, hll] : std::get<Tiles<HyperLogLog>>(s->series[f.series]))
          if (range.Contains(tile)) merged.Merge(hll);
      }
      return FeatureValue::Int(static_cast<int64_t>(std::llround(merged.Estimate())));
    }
    case SeriesKind::kLastN: {
      FeatureValue v;
      v.type = FeatureValue::Type::kStrings;
      if (shards.size() == 1) {  // already distinct and newest first: no merge
        for (const auto& [value, ts] : std::get<LastNState>(shards[0]->series[f.series]).values)
          if (ts <= as_of_ms && static_cast<int>(v.strings.size()) < f.n) v.strings.push_back(value);
        return v;
      }
      LastNState merged;
      for (const EntityState* s : shards) {
        for (const auto& [value, ts] : std::get<LastNState>(s->series[f.series]).values)
          if (ts <= as_of_ms) InsertLastN(merged, value, ts, f.n);
      }
      for (auto& [value, ts] : merged.values) v.strings.push_back(std::move(value));
      return v;
    }
    case SeriesKind::kLatestTs: {
      int64_t latest = 0;
      for (const EntityState* s : shards) latest = std::max(latest, std::get<LatestTsState>(s->series[f.series]).ts_ms);
      return latest > 0 ? FeatureValue::Int(latest) : FeatureValue::Null();
    }
    case SeriesKind::kDecayed: {
      double total = 0;
      for (const EntityState* s : shards) {
        const auto& d = std::get<DecayedState>(s->series[f.series]);
        if (d.ref_ts_ms != 0) total += Decay(d.value, d.ref_ts_ms, as_of_ms, spec.half_life_ms);
      }
      return FeatureValue::Double(total);
    }
  }
  return FeatureValue::Null();
}

void FeatureEngine::ReadRatios(EntityKind kind, std::vector<FeatureValue>* out) const {
  const auto& features = set_->features(kind);
  for (size_t fi = 0; fi < features.size(); ++fi) {
    const CompiledFeature& f = features[fi];
    if (f.aggregation != Aggregation::kRatio) continue;
    const double den = (*out)[f.denominator].AsDouble();
    (*out)[fi] = den == 0 ? FeatureValue::Null() : FeatureValue::Double((*out)[f.numerator].AsDouble() / den);
  }
}

int64_t FeatureEngine::LatestEvent(const std::vector<const EntityState*>& shards) {
  int64_t latest = 0;
  for (const EntityState* s : shards) latest = std::max(latest, s->last_event_ts_ms);
  return latest;
}

namespace {

// The newest tile index of a tiled series, or nullopt when it holds none.
std::optional<int64_t> NewestTile(const SeriesState& series) {
  return std::visit(
      [](const auto& v) -> std::optional<int64_t> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Tiles<int64_t>> || std::is_same_v<T, Tiles<double>> ||
                      std::is_same_v<T, Tiles<HyperLogLog>>) {
          if (v.empty()) return std::nullopt;
          return v.back().first;
        } else {
          return std::nullopt;
        }
      },
      series);
}

// The latest event a lifetime series holds (0 for none).
int64_t SeriesLatest(const SeriesState& series) {
  if (const auto* last_n = std::get_if<LastNState>(&series)) {
    int64_t latest = 0;
    for (const auto& [value, ts] : last_n->values) latest = std::max(latest, ts);
    return latest;
  }
  if (const auto* latest = std::get_if<LatestTsState>(&series)) return latest->ts_ms;
  if (const auto* decayed = std::get_if<DecayedState>(&series)) return decayed->ref_ts_ms;
  return 0;
}

}  // namespace

std::optional<InexactAsOf> FeatureEngine::CheckAsOf(EntityKind kind, const std::vector<const EntityState*>& shards,
                                                    int64_t as_of_ms) const {
  const auto& specs = set_->series(kind);
  const auto& features = set_->features(kind);
  auto inexact = [&](size_t fi, const std::string& why) {
    return InexactAsOf{fi, "as_of_ms " + std::to_string(as_of_ms) + " is before what feature '" + features[fi].name +
                               "' can answer exactly: " + why};
  };
  for (size_t fi = 0; fi < features.size(); ++fi) {
    const CompiledFeature& f = features[fi];
    if (f.aggregation == Aggregation::kRatio) continue;  // exact when its parts are
    const SeriesSpec& spec = specs[f.series];
    for (const EntityState* s : shards) {
      if (s->last_event_ts_ms <= as_of_ms) continue;  // no later event in this shard
      const SeriesState& series = s->series[f.series];
      if (!spec.tiled()) {
        const int64_t latest = SeriesLatest(series);
        if (latest > as_of_ms)
          return inexact(fi, "it keeps only its newest values, which include an event at " + std::to_string(latest) +
                                 "; read it at as_of_ms >= " + std::to_string(latest));
        continue;
      }
      const int64_t as_of_tile = TileOf(as_of_ms, spec.tile_ms);
      const std::string from_latest = "as_of_ms >= " + std::to_string(LatestEvent(shards)) + " (the latest event)";
      // Tiles the window needs, dropped once they fell out of the longest
      // window before the latest event of the series.
      const int64_t oldest_kept = TileOf(s->last_event_ts_ms - spec.retention_ms, spec.tile_ms) + 1;
      if (TileOf(as_of_ms - f.window_ms, spec.tile_ms) + 1 < oldest_kept)
        return inexact(fi, "its " + FormatDurationMs(spec.tile_ms) + " tiles before " +
                               std::to_string(oldest_kept * spec.tile_ms) + " are no longer kept; read it at " + from_latest);
      const std::optional<int64_t> newest = NewestTile(series);
      const bool tile_end = (as_of_ms + 1) % spec.tile_ms == 0;
      if (newest && *newest >= as_of_tile && !tile_end)
        return inexact(fi, "its " + FormatDurationMs(spec.tile_ms) + " tile holding as_of_ms also holds later events; "
                               "read it at the last millisecond of a tile (such as as_of_ms " +
                               std::to_string((as_of_tile + 1) * spec.tile_ms - 1) + ") or at " + from_latest);
    }
  }
  return std::nullopt;
}

}  // namespace featmon
