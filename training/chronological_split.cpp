#include "training/chronological_split.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace featmon::training {

const char* SplitName(Split s) {
  switch (s) {
    case Split::kTrain: return "train";
    case Split::kValidation: return "validation";
    case Split::kTest: return "test";
    case Split::kLeftOut: return "left_out";
  }
  return "?";
}

Result<SplitFractions> ParseSplitFractions(std::string_view text) {
  std::vector<double> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string part(text.substr(start, comma - start));
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || !std::isfinite(v) || v < 0)
      return Status::InvalidArgument("--split " + std::string(text) + ": '" + part +
                                     "' is not a fraction; give three, e.g. 0.8,0.1,0.1");
    parts.push_back(v);
    start = comma + 1;
  }
  if (parts.size() != 3)
    return Status::InvalidArgument("--split " + std::string(text) + ": give three fractions (train,validation,test), e.g. 0.8,0.1,0.1");
  if (std::abs(parts[0] + parts[1] + parts[2] - 1.0) > 1e-6)
    return Status::InvalidArgument("--split " + std::string(text) + ": the fractions add up to " +
                                   std::to_string(parts[0] + parts[1] + parts[2]) + ", not 1");
  return SplitFractions{parts[0], parts[1], parts[2]};
}

Split SplitPlan::Period(int64_t ts_ms) const {
  if (ts_ms >= test_from_ms) return Split::kTest;
  return ts_ms >= validation_from_ms ? Split::kValidation : Split::kTrain;
}

Split SplitPlan::Assign(int64_t ts_ms) const {
  // Its period's, unless it lies within the gap before a boundary above it.
  auto purged = [&](int64_t boundary) { return boundary != INT64_MAX && ts_ms < boundary && ts_ms >= boundary - gap_ms; };
  switch (const Split period = Period(ts_ms)) {
    case Split::kTest: return period;
    case Split::kValidation: return purged(test_from_ms) ? Split::kLeftOut : period;
    default: return purged(validation_from_ms) || purged(test_from_ms) ? Split::kLeftOut : period;
  }
}

BoundaryIndexes QuantileIndexes(size_t n, const SplitFractions& fractions) {
  // The first example of a split is at the quantile's index.
  auto index = [&](double quantile) {
    return std::min(n, static_cast<size_t>(std::llround(std::floor(quantile * static_cast<double>(n) + 1e-9))));
  };
  BoundaryIndexes at;
  at.test = fractions.test > 0 ? index(fractions.train + fractions.validation) : n;
  at.validation = fractions.validation > 0 ? index(fractions.train) : at.test;
  return at;
}

SplitPlan PlanFromBoundaryTimes(int64_t validation_from_ms, int64_t test_from_ms, int64_t window_ms) {
  SplitPlan plan;
  plan.gap_ms = window_ms;
  plan.validation_from_ms = validation_from_ms;
  plan.test_from_ms = test_from_ms;
  return plan;
}

SplitPlan PlanChronologicalSplit(std::vector<int64_t>* times, const SplitFractions& fractions, int64_t window_ms) {
  std::sort(times->begin(), times->end());
  const size_t n = times->size();
  const BoundaryIndexes at = QuantileIndexes(n, fractions);
  auto time_at = [&](size_t i) { return i < n ? (*times)[i] : INT64_MAX; };
  return PlanFromBoundaryTimes(time_at(at.validation), time_at(at.test), window_ms);
}

}  // namespace featmon::training
