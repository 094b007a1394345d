#include "drift/seasonal_profile.h"

#include <cmath>

namespace featmon::drift {

namespace {
constexpr int64_t kHourMs = 3'600'000, kDayMs = 24 * kHourMs;
}  // namespace

int SeasonalProfile::HourOfDay(int64_t ts_ms) {
  const int64_t in_day = ((ts_ms % kDayMs) + kDayMs) % kDayMs;
  return static_cast<int>(in_day / kHourMs);
}

void SeasonalProfile::Learn(int64_t hour_start_ms, const Hist& hour, double new_day_weight) {
  const int h = HourOfDay(hour_start_ms);
  Hist& slot = slots_[static_cast<size_t>(h)];
  if (!learned_[static_cast<size_t>(h)]) {
    slot = hour;
    learned_[static_cast<size_t>(h)] = true;
    return;
  }
  Hist blended;
  blended.Reset(hour.counts.size(), !hour.sums.empty());
  blended.AddScaled(slot, 1 - new_day_weight);
  blended.AddScaled(hour, new_day_weight);
  slot = std::move(blended);
}

bool SeasonalProfile::ReferenceFor(int64_t start_ms, int64_t end_ms, int64_t tile_ms, size_t bins, bool numeric,
                                   Hist* out) const {
  std::array<double, 24> weight{};
  for (int64_t t = start_ms; t < end_ms; t += tile_ms) {
    // Hours since the first slot's centre (00:30), at the tile's centre.
    const double in_day = static_cast<double>((((t + tile_ms / 2) % kDayMs) + kDayMs) % kDayMs);
    const double x = in_day / static_cast<double>(kHourMs) - 0.5;
    const double below = std::floor(x);
    const double frac = x - below;
    const int h0 = (static_cast<int>(below) + 24) % 24, h1 = (h0 + 1) % 24;
    weight[static_cast<size_t>(h0)] += 1 - frac;
    weight[static_cast<size_t>(h1)] += frac;
  }
  out->Reset(bins, numeric);
  double total_weight = 0;
  for (size_t h = 0; h < 24; ++h) {
    if (weight[h] <= 0) continue;
    if (!learned_[h]) return false;
    total_weight += weight[h];
  }
  if (total_weight <= 0) return false;
  // Each slot holds an hour's counts; the blend keeps that scale.
  for (size_t h = 0; h < 24; ++h)
    if (weight[h] > 0) out->AddScaled(slots_[h], weight[h] / total_weight);
  return true;
}

int SeasonalProfile::learned_hours() const {
  int n = 0;
  for (bool l : learned_) n += l ? 1 : 0;
  return n;
}

}  // namespace featmon::drift
