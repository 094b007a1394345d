// The stored partial aggregates of one entity in one shard (one input
// partition), their binary encoding, and the deltas a commit writes.
//
// Full state (version 1):
//   u8 1 | fixed64 last_event_ts_ms | varint series count |
//   per non-empty series: fixed32 series id | fixed32 payload length | payload
// The entity's latest event time sits at a fixed offset so that the expiry
// compaction filter reads it without decoding the rest. Series are tagged by
// id, so adding or removing features keeps old state readable: unknown ids
// are skipped, missing ones start empty.
//
// Delta (version 2): what changed since the last commit, so that a commit of
// a hot item writes its current tile, not its whole history. Same header;
// per changed series: fixed32 id | fixed32 length | payload, where a tiled
// series' payload is
//   signed keep_from | signed replace_from | its tiles >= replace_from
// (applied: tiles before keep_from are dropped, tiles from replace_from on
// are replaced by these) and any other series' payload is the whole series.
// The store folds deltas into the full state (its merge operator calls
// MergeEntityValues), so readers only ever decode version 1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"
#include "features/feature_spec.h"
#include "features/hyperloglog.h"

namespace featmon {

// Tiles are kept sorted by tile index, oldest first, and sparse: only tiles
// that saw an event exist.
template <typename V>
using Tiles = std::vector<std::pair<int64_t, V>>;

struct LastNState {
  std::vector<std::pair<std::string, int64_t>> values;  // (value, latest ts), newest first, distinct
};
struct LatestTsState {
  int64_t ts_ms = 0;
};
struct DecayedState {
  double value = 0;    // decayed count as of ref_ts_ms
  int64_t ref_ts_ms = 0;
};

using SeriesState = std::variant<Tiles<int64_t>, Tiles<double>, Tiles<HyperLogLog>, LastNState,
                                 LatestTsState, DecayedState>;

struct EntityState {
  int64_t last_event_ts_ms = 0;      // largest ts_ms applied; drives pruning and expiry
  std::vector<SeriesState> series;   // parallel to FeatureSet::series(kind)

  bool empty() const { return last_event_ts_ms == 0; }
};

// What FeatureEngine::Apply changed since the last commit: which series (bit
// i; bit 63 stands for series 63 and later) and the earliest event time
// applied, from which on a tiled series' tiles may have changed.
struct StateChanges {
  uint64_t series_mask = 0;
  int64_t from_ts_ms = INT64_MAX;

  bool empty() const { return series_mask == 0; }
  bool Has(size_t series) const { return (series_mask & Bit(series)) != 0; }
  void Mark(size_t series, int64_t ts_ms) {
    series_mask |= Bit(series);
    if (ts_ms < from_ts_ms) from_ts_ms = ts_ms;
  }
  static uint64_t Bit(size_t series) { return uint64_t{1} << (series < 63 ? series : 63); }
};

// A fresh state with one empty series per series of `kind`.
EntityState NewEntityState(const FeatureSet& set, EntityKind kind);

void EncodeEntityState(const FeatureSet& set, EntityKind kind, const EntityState& state, std::string* out);
Status DecodeEntityState(const FeatureSet& set, EntityKind kind, std::string_view data, EntityState* out);

// The changed series of `state` as a delta (see above).
void EncodeEntityDelta(const FeatureSet& set, EntityKind kind, const EntityState& state, const StateChanges& changes,
                       std::string* out);
// Folds stored values into one full state: the base (a full state, or none)
// and then each operand (a delta, or a full state that replaces everything).
Status MergeEntityValues(const FeatureSet& set, EntityKind kind, const std::string_view* base,
                         const std::vector<std::string_view>& operands, std::string* out);
// A stored value that says a merge failed and why; DecodeEntityState reports
// it as corruption, so the entity is kept aside and starts afresh.
void EncodeUnmergeable(std::string_view reason, std::string* out);

// Bytes a state holds in memory (its own size and what it allocated), for
// caches bounded in bytes; an estimate that ignores allocator overhead.
size_t ApproximateMemory(const EntityState& state);

// Reads only the latest event time; for the expiry compaction filter.
bool PeekLastEventTs(std::string_view data, int64_t* ts_ms);

}  // namespace featmon
