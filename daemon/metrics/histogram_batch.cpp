#include "daemon/metrics/histogram_batch.h"

#include <algorithm>

namespace featmon {

HistogramBatch::HistogramBatch(prometheus::Histogram* histogram, const prometheus::Histogram::BucketBoundaries& bounds)
    : histogram_(histogram), bounds_(bounds), counts_(bounds.size() + 1, 0.0) {}

void HistogramBatch::Add(double value, uint64_t count) {
  if (count == 0) return;
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[static_cast<size_t>(bucket)] += static_cast<double>(count);
  sum_ += value * static_cast<double>(count);
  empty_ = false;
}

void HistogramBatch::Flush() {
  if (empty_) return;
  histogram_->ObserveMultiple(counts_, sum_);
  std::fill(counts_.begin(), counts_.end(), 0.0);
  sum_ = 0;
  empty_ = true;
}

}  // namespace featmon
