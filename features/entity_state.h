// The stored partial aggregates of one entity in one shard (one input
// partition), and their binary encoding.
//
// Encoding (version 1):
//   u8 version | fixed64 last_event_ts_ms | varint series count |
//   per non-empty series: fixed32 series id | fixed32 payload length | payload
// The entity's latest event time sits at a fixed offset so that the expiry
// compaction filter reads it without decoding the rest. Series are tagged by
// id, so adding or removing features keeps old state readable: unknown ids
// are skipped, missing ones start empty.
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

// A fresh state with one empty series per series of `kind`.
EntityState NewEntityState(const FeatureSet& set, EntityKind kind);

void EncodeEntityState(const FeatureSet& set, EntityKind kind, const EntityState& state, std::string* out);
Status DecodeEntityState(const FeatureSet& set, EntityKind kind, std::string_view data, EntityState* out);

// Reads only the latest event time; for the expiry compaction filter.
bool PeekLastEventTs(std::string_view data, int64_t* ts_ms);

}  // namespace featmon
