#include "drift/watermark.h"

#include <algorithm>
#include <limits>

namespace featmon::drift {

bool Watermark::Behind(const PartitionClock& p) {
  // Unknown end: hold. Nothing consumed yet: behind unless the partition is empty.
  if (p.high_watermark < 0) return true;
  return p.next_offset < 0 ? p.high_watermark > 0 : p.next_offset < p.high_watermark;
}

WatermarkStep Watermark::Advance(const std::vector<PartitionClock>& assigned, size_t known_partitions, int64_t now_ns) {
  if (assigned.empty()) return WatermarkStep::kUnchanged;
  if (assigned.size() < known_partitions) return WatermarkStep::kHeldForUnassigned;
  int64_t slowest = std::numeric_limits<int64_t>::max(), fastest = 0;
  bool any_active = false;
  for (const PartitionClock& p : assigned) {
    // A caught-up partition that has been silent for the idle timeout does
    // not hold the others back; one that is merely caught up does, since its
    // next message may be older than the others'.
    const bool idle = !Behind(p) && now_ns - p.last_activity_ns > options_.partition_idle_timeout_ms * 1'000'000;
    if (!idle) {
      any_active = true;
      slowest = std::min(slowest, p.stream_time_ms);
    }
    fastest = std::max(fastest, p.stream_time_ms);
  }
  const int64_t event_time = any_active ? slowest : fastest;  // all idle: the stream is quiet, finish its windows
  if (event_time <= 0) return WatermarkStep::kUnchanged;
  const int64_t candidate = event_time - options_.allowed_lateness_ms;
  if (candidate <= value_) return WatermarkStep::kUnchanged;
  value_ = candidate;
  return WatermarkStep::kAdvanced;
}

}  // namespace featmon::drift
