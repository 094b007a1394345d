// Applies events to entity state and reads feature values out of it.
// Pure: no I/O, no clock; time is the event's own and the as_of the caller
// passes.
//
//   FeatureEngine engine(&set);
//   if (!set.IsLate(ev.type, ev.ts_ms, stream_time)) engine.Apply(ev, EntityKind::kUser, &state);
//   std::vector<FeatureValue> values = engine.Read(EntityKind::kUser, {&state}, as_of_ms);
//
// Thread-safety: const methods may run concurrently; Apply mutates only the
// state it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "features/entity_state.h"
#include "features/event.h"
#include "features/feature_spec.h"
#include "features/window_tails.h"

namespace featmon {

struct FeatureValue {
  enum class Type { kNull, kInt, kDouble, kStrings };
  Type type = Type::kNull;
  int64_t i = 0;
  double d = 0;
  std::vector<std::string> strings;

  static FeatureValue Null() { return {}; }
  static FeatureValue Int(int64_t v) { FeatureValue f; f.type = Type::kInt; f.i = v; return f; }
  static FeatureValue Double(double v) { FeatureValue f; f.type = Type::kDouble; f.d = v; return f; }
  double AsDouble() const { return type == Type::kInt ? static_cast<double>(i) : type == Type::kDouble ? d : 0.0; }
};

// Why a feature cannot be read exactly at a past as_of: which feature, and
// from when on it can be.
struct InexactAsOf {
  size_t feature = 0;  // index into FeatureSet::features(kind)
  std::string why;     // names the feature and how far back it can be read
};

class FeatureEngine {
 public:
  explicit FeatureEngine(const FeatureSet* set);

  // Folds one event into the state of the entity of `kind` it names, and
  // drops tiles no window can see any more. Late-event filtering is the
  // caller's (FeatureSet::IsLate), because it depends on stream time. With
  // `changes`, records there what changed, for EncodeEntityDelta. With
  // `tails`, keeps the entity's window tails current (window_tails.h).
  void Apply(const Event& event, EntityKind kind, EntityState* state, StateChanges* changes = nullptr,
             WindowTails* tails = nullptr) const;

  // Feature values at as_of_ms, merging the entity's states from all shards.
  // An empty `shards` yields defaults: 0, null, [].
  std::vector<FeatureValue> Read(EntityKind kind, const std::vector<const EntityState*>& shards,
                                 int64_t as_of_ms) const;
  // The same values as Read(kind, {&state}, as_of_ms), into `out` (whose
  // capacity a caller reading at every prediction keeps), taking windowed
  // counts, sums and distinct counts from the entity's tails where the read
  // allows it, and updating them. `tails` belongs to `state`: only Apply
  // calls with the same tails may have changed the state since.
  void ReadWithTails(EntityKind kind, const EntityState& state, int64_t as_of_ms, WindowTails* tails,
                     std::vector<FeatureValue>* out) const;

  // The series behind `feature` (an index into FeatureSet::features(kind))
  // when it is a windowed count or sum, which ReadTiles can split into
  // tiles; nullptr for any other aggregation, ratios included.
  const SeriesSpec* TiledSeries(EntityKind kind, size_t feature) const;

  // The tiles a windowed count or sum of `feature` (an index into
  // FeatureSet::features(kind)) adds up at as_of_ms: (tile start ms, value),
  // oldest first, merged over the shards, empty tiles left out. Empty for
  // any other aggregation. For people to look at (the feature page's bars).
  std::vector<std::pair<int64_t, double>> ReadTiles(EntityKind kind, const std::vector<const EntityState*>& shards,
                                                    size_t feature, int64_t as_of_ms) const;

  // Whether Read at as_of_ms reflects exactly the events with ts_ms <=
  // as_of_ms and no later one. State is kept as of the entity's latest event,
  // so every feature is exact at or after it. Before it:
  //   count, sum, approx_distinct (tiled): exact when no event of the series
  //     lies in as_of's tile or later, or when as_of is the last millisecond
  //     of a tile, as long as the window's tiles have not been dropped (they
  //     are kept for the longest window of the series before the latest event);
  //   last_n_distinct, latest_timestamp, decayed_count: exact only at or after
  //     the series' own latest event (a later event replaced what held before);
  //   ratio: when both its parts are.
  // Returns the first feature that is not exact, or nullopt.
  std::optional<InexactAsOf> CheckAsOf(EntityKind kind, const std::vector<const EntityState*>& shards,
                                       int64_t as_of_ms) const;
  // The latest event time over the shards (0 for none): every feature is
  // exact at or after it.
  static int64_t LatestEvent(const std::vector<const EntityState*>& shards);

  const FeatureSet& set() const { return *set_; }

 private:
  // One feature's value from the tiles or state of every shard.
  FeatureValue ReadFeature(EntityKind kind, size_t feature, std::span<const EntityState* const> shards,
                           int64_t as_of_ms) const;
  // Ratios, once every other feature of `out` is read.
  void ReadRatios(EntityKind kind, std::vector<FeatureValue>* out) const;
  // After Apply put an event at `tile` of `series` and pruned its tiles at or
  // before `cutoff`: the same in the tails of the features reading it.
  void UpdateTails(EntityKind kind, size_t series, int64_t tile, int64_t cutoff, const Event& event,
                   WindowTails* tails) const;

  const FeatureSet* set_;
  // Per kind and series, the windowed features (count, sum, approx_distinct)
  // reading it, as (feature index, its tail's index in WindowTails).
  std::vector<std::vector<std::pair<size_t, size_t>>> windowed_features_[kEntityKindCount];
  // Per kind and feature, its tail's index; kNoTail for a feature that is
  // not windowed.
  static constexpr size_t kNoTail = static_cast<size_t>(-1);
  std::vector<size_t> tail_of_[kEntityKindCount];
  size_t tail_count_[kEntityKindCount] = {};
};

}  // namespace featmon
