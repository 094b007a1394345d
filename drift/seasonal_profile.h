// What a signal looks like at each hour of the day, learned from the days it
// has seen: the reference of `reference: seasonal`. Traffic that follows the
// day (a feature's mean, the device mix, the score, the CTR moving with the
// hour) is then compared with the same time of day, not with whatever hour
// the model happened to start at.
//
// Each of the 24 slots holds one hour of the day's histogram. A new day's
// hour is blended in with weight new_day_weight (counts keep the scale of
// one hour), so the profile follows slow change over days while one odd day
// moves it only partly. The reference of a window takes each of its tiles
// between the two nearest slot centres (h:30), linearly, so a feature whose
// mean moves within the hour is matched to the minute.
#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "drift/histogram.h"

namespace featmon::drift {

class SeasonalProfile {
 public:
  // Blends one whole hour's histogram into its hour-of-day slot (the first
  // one learned for a slot is taken as it is).
  void Learn(int64_t hour_start_ms, const Hist& hour, double new_day_weight);
  // The reference of [start, end) in tiles of tile_ms, into *out (reset to
  // `bins`); false when a slot it needs was never learned.
  bool ReferenceFor(int64_t start_ms, int64_t end_ms, int64_t tile_ms, size_t bins, bool numeric, Hist* out) const;
  // Slots learned so far (24 once a whole day was seen).
  int learned_hours() const;

  friend void to_json(nlohmann::json& j, const SeasonalProfile& p);
  friend void from_json(const nlohmann::json& j, SeasonalProfile& p);

 private:
  static int HourOfDay(int64_t ts_ms);
  std::array<Hist, 24> slots_;
  std::array<bool, 24> learned_{};
};

}  // namespace featmon::drift
