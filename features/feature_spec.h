// Declarative feature definitions and their compiled form.
//
// A FeatureSpec is what a team writes in YAML: a name, an entity, source
// streams, an aggregation and a window. Compile() groups specs into *series*:
// one stored partial aggregate per (entity, sources, aggregation input, tile
// size), as in Chronon's tiled aggregation. views_24h and views_7d share one
// series of hourly tiles kept for 7 days; a ratio stores nothing.
//
//   auto set = FeatureSet::Compile(specs);
//   if (!set.ok()) ...;            // the message names the feature and key
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "features/event.h"

namespace featmon {

enum class Aggregation {
  kCount,           // number of events in the window
  kSum,             // sum of a numeric field (`value`) in the window
  kRatio,           // numerator / denominator of two other features; null when the denominator is 0
  kLastNDistinct,   // the n most recent distinct values of a field, newest first
  kApproxDistinct,  // HyperLogLog distinct count of a field in the window
  kLatestTimestamp, // largest ts_ms seen
  kDecayedCount,    // sum of 2^(-(as_of - ts) / half_life) over all events
};

// Event fields an aggregation can read.
enum class EventField { kNone, kUserId, kItemId, kCategory, kRequestId, kValue };

struct FeatureSpec {
  std::string name;                 // unique within its entity; the key in HTTP answers
  EntityKind entity = EntityKind::kUser;
  uint32_t sources = 0;             // bit mask of SourceBit(EventType); empty only for ratio
  Aggregation aggregation = Aggregation::kCount;
  EventField field = EventField::kNone;  // sum: value; last_n_distinct / approx_distinct: an id field
  int64_t window_ms = 0;            // sliding window; 0 = lifetime (last_n, latest, decayed only)
  int64_t tile_ms = 0;              // tile width; 0 = default: 5m below 12h, 1h below 12d, 1d above
  int n = 20;                       // last_n_distinct: how many values. Default: 20
  int64_t half_life_ms = 0;         // decayed_count: half-life, required
  std::string numerator;            // ratio: name of a count or sum feature of the same entity
  std::string denominator;          // ratio: likewise
};

// The default tile width for a window, after Chronon's hops.
int64_t DefaultTileMs(int64_t window_ms);

enum class SeriesKind : uint8_t { kTiledCount, kTiledSum, kTiledDistinct, kLastN, kLatestTs, kDecayed };

// One stored partial aggregate of an entity.
struct SeriesSpec {
  uint32_t id = 0;            // stable hash of the definition; tags the series in stored state
  SeriesKind kind = SeriesKind::kTiledCount;
  uint32_t sources = 0;
  EventField field = EventField::kNone;
  int64_t tile_ms = 0;        // tiled kinds only
  int64_t retention_ms = 0;   // tiled kinds: the longest window reading this series
  int n = 0;                  // kLastN
  int64_t half_life_ms = 0;   // kDecayed
  bool tiled() const {
    return kind == SeriesKind::kTiledCount || kind == SeriesKind::kTiledSum || kind == SeriesKind::kTiledDistinct;
  }
};

struct CompiledFeature {
  std::string name;
  Aggregation aggregation = Aggregation::kCount;
  int series = -1;         // index into the entity's series; -1 for ratio
  int64_t window_ms = 0;
  int n = 0;
  int numerator = -1;      // ratio: index into the entity's features
  int denominator = -1;
};

class FeatureSet {
 public:
  static Result<FeatureSet> Compile(const std::vector<FeatureSpec>& specs);

  const std::vector<SeriesSpec>& series(EntityKind k) const { return series_[Idx(k)]; }
  const std::vector<CompiledFeature>& features(EntityKind k) const { return features_[Idx(k)]; }
  // Index of the series with this id for entity k, or -1.
  int SeriesIndexById(EntityKind k, uint32_t id) const;

  // True when no windowed series fed by `type` can still see an event at
  // ts_ms once stream time is `stream_time_ms`: it lies at or before the
  // start of every such window. Streams with no windowed feature are never late.
  bool IsLate(EventType type, int64_t ts_ms, int64_t stream_time_ms) const;
  // Longest window of any feature, for entity expiry.
  int64_t LongestWindowMs() const { return longest_window_ms_; }

 private:
  static int Idx(EntityKind k) { return static_cast<int>(k); }
  std::vector<SeriesSpec> series_[kEntityKindCount];
  std::vector<CompiledFeature> features_[kEntityKindCount];
  // Per stream, the distinct (tile, longest window) of windowed series it
  // feeds: what IsLate checks, derived once instead of per event.
  std::vector<std::pair<int64_t, int64_t>> late_rules_[kEventTypeCount];
  int64_t longest_window_ms_ = 0;
};

// Tile index of a timestamp; floor division, so negative times work too.
inline int64_t TileOf(int64_t ts_ms, int64_t tile_ms) {
  int64_t q = ts_ms / tile_ms;
  return (ts_ms % tile_ms < 0) ? q - 1 : q;
}

}  // namespace featmon
