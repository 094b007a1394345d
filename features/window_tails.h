// Running window aggregates of one entity (Chronon's window tails), so that a
// replay reading an entity's features at every prediction does not walk the
// window's tiles each time: for each count, sum and approx_distinct feature,
// the aggregate of the entity's tiles after a start tile, kept current as
// FeatureEngine::Apply adds events and FeatureEngine::ReadWithTails reads.
//
// A count's or sum's tail is the aggregate of the present tiles in
// (after, upto], upto being the tile before the newest: a read adds the
// tiles after upto to it in tile order, which is the order FeatureEngine::Read
// adds them in, so a sum is the same double to the last bit. An
// approx_distinct tail is the merged sketch of every present tile after
// `after` (merging is a register max, so the order does not matter); its
// estimate is kept until a register rises, and computed from a histogram of
// the registers kept as they rise.
//
// FeatureEngine::Apply adds each event to the tails that cover its tile (a
// late event into a sum's tail unbuilds it, to keep the order), and unbuilds
// a tail when pruning drops a tile it may hold. A read whose window starts at
// tile `a` and ends at or after the series' newest tile (every read of a
// replay moving forward in time) uses the tail: a count slides forward by
// subtracting the tiles between `after` and `a`; a sum or distinct count
// rebuilds (once per tile width per entity, instead of once per read). Any
// other read, as_of in the past, answers from the tiles as Read does.
//
// Not stored and not shared: one caller owns an entity's state and its tails
// (featmon-export's point-in-time join). Memory: 32 bytes per windowed
// feature, plus a sketch per approx_distinct feature.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "features/hyperloglog.h"

namespace featmon {

struct WindowTail {
  static constexpr int64_t kUnbuilt = std::numeric_limits<int64_t>::min();
  struct Distinct {
    HyperLogLog sketch;
    double estimate = -1;  // < 0: not computed since the sketch last changed
    // Once the sketch is dense, its rank histogram, kept as registers rise,
    // so the estimate does not read 16 KiB of registers each time.
    HyperLogLog::RankHistogram histogram{};
  };

  int64_t after = kUnbuilt;             // exclusive first tile
  int64_t upto = 0;                     // count and sum: the last tile included
  union {                               // a tail is of one feature: a count or a sum
    int64_t count = 0;
    double sum;
  };
  std::unique_ptr<Distinct> distinct;   // approx_distinct only

  bool built() const { return after != kUnbuilt; }
};

struct WindowTails {
  // One per windowed feature (count, sum, approx_distinct) of the kind, in
  // feature order (FeatureEngine maps them); empty until first used.
  std::vector<WindowTail> tails;
};

}  // namespace featmon
