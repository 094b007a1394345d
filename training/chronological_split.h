// The chronological split of labeled examples into train, validation and
// test, without leakage across its boundaries.
//
// Boundaries fall at quantiles of the examples' prediction times (0.8 and 0.9
// of them for the default 0.8/0.1/0.1): an example at or after a boundary
// belongs to the later split. An example whose prediction lies within one
// attribution window before a boundary is left out ("purging"): its label
// matures inside the next split's time, so training on it would leak that
// time into the earlier split.
//
//   auto fractions = ParseSplitFractions("0.8,0.1,0.1");
//   SplitPlan plan = PlanChronologicalSplit(prediction_times, *fractions, window_ms);
//   switch (plan.Assign(ts_ms)) { ... }
//
// A caller whose examples are already in time order need not hold their
// times: QuantileIndexes says which positions to look at, and
// PlanFromBoundaryTimes takes the times found there.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace featmon::training {

enum class Split : uint8_t { kTrain, kValidation, kTest, kLeftOut };
inline constexpr std::array<Split, 3> kSplits = {Split::kTrain, Split::kValidation, Split::kTest};
const char* SplitName(Split s);  // "train", "validation", "test", "left_out"

struct SplitFractions {
  double train = 0.8, validation = 0.1, test = 0.1;
};
// "0.8,0.1,0.1": three fractions, none negative, adding up to 1.
Result<SplitFractions> ParseSplitFractions(std::string_view text);

struct SplitPlan {
  // Prediction times from which on validation and test begin; INT64_MAX when
  // a split starts after every example (it is empty).
  int64_t validation_from_ms = INT64_MAX, test_from_ms = INT64_MAX;
  int64_t gap_ms = 0;  // the attribution window left out before each boundary

  Split Assign(int64_t ts_ms) const;
  // The split whose time span holds ts_ms, the gaps not left out: which
  // split an example that Assign leaves out was taken from.
  Split Period(int64_t ts_ms) const;
};

// Positions, among n examples in time order, of the first of validation and
// the first of test; n when that split starts after every example.
struct BoundaryIndexes {
  size_t validation = 0, test = 0;
};
BoundaryIndexes QuantileIndexes(size_t n, const SplitFractions& fractions);
// The plan from the prediction times at those positions (INT64_MAX for n).
SplitPlan PlanFromBoundaryTimes(int64_t validation_from_ms, int64_t test_from_ms, int64_t attribution_window_ms);

// `prediction_times_ms` in any order; it is sorted in place.
SplitPlan PlanChronologicalSplit(std::vector<int64_t>* prediction_times_ms, const SplitFractions& fractions,
                                 int64_t attribution_window_ms);

}  // namespace featmon::training
