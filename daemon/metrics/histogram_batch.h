// Observations gathered on a hot path and handed to a prometheus-cpp
// histogram in one call: Observe() takes its lock and walks its buckets per
// value, which at hundreds of thousands of events a second is measurable;
// here an observation is a search of a local array.
//
//   HistogramBatch batch(&metrics->ReadToVisible(), Metrics::ReadToVisibleBuckets());
//   batch.Add(0.004, 64);   // 64 events, 4 ms each
//   batch.Flush();          // once per poll batch
//
// Thread-safety: none; one per thread.
#pragma once

#include <prometheus/histogram.h>

#include <cstdint>
#include <vector>

namespace featmon {

class HistogramBatch {
 public:
  HistogramBatch(prometheus::Histogram* histogram, const prometheus::Histogram::BucketBoundaries& bounds);
  // `count` observations of `value`; bucket bounds are inclusive, as Prometheus' `le`.
  void Add(double value, uint64_t count = 1);
  // Hands what was added to the histogram and starts afresh.
  void Flush();

 private:
  prometheus::Histogram* histogram_;
  prometheus::Histogram::BucketBoundaries bounds_;
  std::vector<double> counts_;  // one per bound, then +Inf
  double sum_ = 0;
  bool empty_ = true;
};

}  // namespace featmon
